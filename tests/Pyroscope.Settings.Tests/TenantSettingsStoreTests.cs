using Microsoft.Extensions.Time.Testing;
using Pyroscope.Api;
using Pyroscope.Contracts.Settings.V1;
using Pyroscope.Settings;
using Pyroscope.Storage.ObjectStore;

namespace Pyroscope.Settings.Tests;

public sealed class TenantSettingsStoreTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    private readonly string _dir = Directory.CreateTempSubdirectory("tenant-settings-").FullName;
    private readonly FakeTimeProvider _time = new(Now);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private TenantSettingsStore NewStore() => new(new FileSystemObjectStore(_dir), _time);

    private static Setting Named(string name, string value, long modifiedAt = 0) =>
        new() { Name = name, Value = value, ModifiedAt = modifiedAt };

    [Fact]
    public async Task A_tenants_settings_together_stay_under_the_total_cap_so_a_get_stays_small()
    {
        var ct = TestContext.Current.CancellationToken;
        var store = NewStore();
        var megabyte = new string('x', TenantSettingsStore.MaxValueBytes);
        for (var i = 0; i < 3; i++)
        {
            await store.SetAsync("anonymous", Named("big" + i, megabyte), ct);
        }

        var refused = await Assert.ThrowsAsync<ApiException>(() => store.SetAsync("anonymous", Named("big3", megabyte), ct));
        Assert.Equal(ConnectCode.ResourceExhausted, refused.Code);
        Assert.Equal(429, refused.HttpStatus);
        Assert.Contains($"would total {4 * TenantSettingsStore.MaxValueBytes + 16} bytes of names and values, the limit is {TenantSettingsStore.MaxTenantBytes}", refused.Message);

        // Nothing of the refused Set was stored; shrinking one setting makes room again; other tenants are unaffected.
        Assert.Equal(3, (await store.GetAsync("anonymous", ct)).Settings.Count);
        await store.SetAsync("anonymous", Named("big0", ""), ct);
        await store.SetAsync("anonymous", Named("big3", megabyte), ct);
        await store.SetAsync("other", Named("big", megabyte), ct);
        var total = (await store.GetAsync("anonymous", ct)).Settings.Sum(s => s.Name.Length + s.Value.Length);
        Assert.InRange(total, 3 * TenantSettingsStore.MaxValueBytes, TenantSettingsStore.MaxTenantBytes);
    }

    [Fact]
    public async Task A_tenant_that_never_set_anything_has_no_settings()
    {
        var settings = await NewStore().GetAsync("anonymous", TestContext.Current.CancellationToken);
        Assert.Empty(settings.Settings);
    }

    [Fact]
    public async Task A_set_without_modifiedAt_is_stamped_with_the_current_time_and_read_back()
    {
        var ct = TestContext.Current.CancellationToken;
        var store = NewStore();

        var stored = await store.SetAsync("anonymous", Named("pluginSettings", "{\"maxNodes\":16384}"), ct);

        Assert.Equal(Now.ToUnixTimeMilliseconds(), stored.ModifiedAt);
        var read = Assert.Single((await store.GetAsync("anonymous", ct)).Settings);
        Assert.Equal("pluginSettings", read.Name);
        Assert.Equal("{\"maxNodes\":16384}", read.Value);
        Assert.Equal(Now.ToUnixTimeMilliseconds(), read.ModifiedAt);
    }

    [Fact]
    public async Task An_update_older_than_the_stored_one_is_refused_and_an_equal_or_newer_one_wins()
    {
        var ct = TestContext.Current.CancellationToken;
        var store = NewStore();
        await store.SetAsync("anonymous", Named("theme", "dark", modifiedAt: 2000), ct);

        var refused = await Assert.ThrowsAsync<ApiException>(() => store.SetAsync("anonymous", Named("theme", "light", modifiedAt: 1999), ct));
        Assert.Equal(ConnectCode.AlreadyExists, refused.Code);
        Assert.Equal("dark", Assert.Single((await store.GetAsync("anonymous", ct)).Settings).Value);

        await store.SetAsync("anonymous", Named("theme", "light", modifiedAt: 2000), ct);
        Assert.Equal("light", Assert.Single((await store.GetAsync("anonymous", ct)).Settings).Value);

        var newer = await store.SetAsync("anonymous", Named("theme", "system", modifiedAt: 0), ct);
        Assert.True(newer.ModifiedAt > 2000);
        Assert.Equal("system", Assert.Single((await store.GetAsync("anonymous", ct)).Settings).Value);
    }

    [Fact]
    public async Task Concurrent_sets_of_different_names_all_survive()
    {
        var ct = TestContext.Current.CancellationToken;
        var store = NewStore();
        const int count = 64;

        var writes = new Task[count];
        for (var i = 0; i < count; i++)
        {
            var name = $"setting-{i:D2}";
            writes[i] = Task.Run(() => store.SetAsync("anonymous", Named(name, "value of " + name), ct), ct);
        }
        await Task.WhenAll(writes);

        // A fresh store reads only what reached the object store.
        var settings = (await NewStore().GetAsync("anonymous", ct)).Settings;
        Assert.Equal(count, settings.Count);
        for (var i = 0; i < count; i++)
        {
            Assert.Equal($"setting-{i:D2}", settings[i].Name);
            Assert.Equal($"value of setting-{i:D2}", settings[i].Value);
        }
    }

    [Fact]
    public async Task Tenants_are_isolated_and_each_has_its_own_object_beside_its_blocks()
    {
        var ct = TestContext.Current.CancellationToken;
        var store = NewStore();
        await store.SetAsync("team-a", Named("pluginSettings", "a"), ct);
        await store.SetAsync("team-b", Named("pluginSettings", "b"), ct);

        var reopened = NewStore();
        Assert.Equal("a", Assert.Single((await reopened.GetAsync("team-a", ct)).Settings).Value);
        Assert.Equal("b", Assert.Single((await reopened.GetAsync("team-b", ct)).Settings).Value);
        Assert.Empty((await reopened.GetAsync("team-c", ct)).Settings);
        Assert.True(File.Exists(Path.Combine(_dir, "team-a", "settings", "tenant_settings.json")));
        Assert.True(File.Exists(Path.Combine(_dir, "team-b", "settings", "tenant_settings.json")));
    }

    [Fact]
    public async Task Settings_come_back_sorted_by_name()
    {
        var ct = TestContext.Current.CancellationToken;
        var store = NewStore();
        string[] names = ["zeta", "alpha", "mu", "beta"];
        foreach (var name in names)
        {
            await store.SetAsync("anonymous", Named(name, name), ct);
        }

        var expected = (string[])names.Clone();
        Array.Sort(expected, StringComparer.Ordinal);
        var actual = new List<string>();
        foreach (var setting in (await store.GetAsync("anonymous", ct)).Settings)
        {
            actual.Add(setting.Name);
        }
        Assert.Equal(expected, actual);
    }

    public static TheoryData<string?, int, string> BadSettings => new()
    {
        { null, 0, "no setting values provided" },
        { "", 0, "name must not be empty" },
        { "   ", 0, "name must not be empty" },
        { new string('n', TenantSettingsStore.MaxNameLength + 1), 0, "the limit is 256" },
        { "big", TenantSettingsStore.MaxValueBytes + 1, "is 1048577 bytes" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public async Task Bad_settings_are_invalid_arguments_naming_the_problem_and_store_nothing(string? name, int valueLength, string expected)
    {
        var ct = TestContext.Current.CancellationToken;
        var store = NewStore();
        var setting = name is null ? null : Named(name, new string('v', valueLength));

        var error = await Assert.ThrowsAsync<ApiException>(() => store.SetAsync("anonymous", setting, ct));

        Assert.Equal(ConnectCode.InvalidArgument, error.Code);
        Assert.Contains(expected, error.Message);
        Assert.Empty((await store.GetAsync("anonymous", ct)).Settings);
    }

    [Fact]
    public async Task A_damaged_settings_object_is_reported_with_its_key_and_left_in_place()
    {
        var ct = TestContext.Current.CancellationToken;
        var path = Path.Combine(_dir, "anonymous", "settings", "tenant_settings.json");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllTextAsync(path, "{\"settings\": [", ct);

        var error = await Assert.ThrowsAsync<ApiException>(() => NewStore().SetAsync("anonymous", Named("theme", "dark"), ct));

        Assert.Equal(ConnectCode.Internal, error.Code);
        Assert.Contains("anonymous/settings/tenant_settings.json", error.Message);
        Assert.Equal("{\"settings\": [", await File.ReadAllTextAsync(path, ct));
    }

    [Fact]
    public async Task Delete_removes_one_name_keeps_the_others_and_is_idempotent()
    {
        var ct = TestContext.Current.CancellationToken;
        var store = NewStore();
        await store.SetAsync("anonymous", Named("metric.a", "1"), ct);
        await store.SetAsync("anonymous", Named("pluginSettings", "{}"), ct);
        await store.SetAsync("other", Named("metric.a", "2"), ct);

        await store.DeleteAsync("anonymous", "metric.a", ct);
        await store.DeleteAsync("anonymous", "metric.a", ct);
        await store.DeleteAsync("anonymous", "never-set", ct);

        Assert.Equal("pluginSettings", Assert.Single((await store.GetAsync("anonymous", ct)).Settings).Name);
        // Survives a new store over the same object store (what a restart sees) and leaves other tenants alone.
        Assert.Equal("pluginSettings", Assert.Single((await NewStore().GetAsync("anonymous", ct)).Settings).Name);
        Assert.Equal("2", Assert.Single((await store.GetAsync("other", ct)).Settings).Value);
    }

    [Fact]
    public async Task Delete_of_a_setting_written_in_the_future_is_refused_and_keeps_it()
    {
        var ct = TestContext.Current.CancellationToken;
        var store = NewStore();
        var future = Now.AddMinutes(5).ToUnixTimeMilliseconds();
        await store.SetAsync("anonymous", Named("metric.a", "1", future), ct);

        var refused = await Assert.ThrowsAsync<ApiException>(() => store.DeleteAsync("anonymous", "metric.a", ct));
        Assert.Equal(ConnectCode.AlreadyExists, refused.Code);
        Assert.Contains("newer update already written", refused.Message);
        Assert.Single((await store.GetAsync("anonymous", ct)).Settings);

        _time.Advance(TimeSpan.FromMinutes(5));
        await store.DeleteAsync("anonymous", "metric.a", ct);
        Assert.Empty((await store.GetAsync("anonymous", ct)).Settings);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public async Task Delete_without_a_name_is_an_invalid_argument_naming_the_field(string? name)
    {
        var refused = await Assert.ThrowsAsync<ApiException>(() => NewStore().DeleteAsync("anonymous", name, TestContext.Current.CancellationToken));
        Assert.Equal(ConnectCode.InvalidArgument, refused.Code);
        Assert.Contains("\"name\"", refused.Message);
    }
}
