using Pyroscope.Model;

namespace Pyroscope.Storage.Tests;

public sealed class HeadAndBlockTests
{
    private const string Tenant = "tenant-a";
    private static readonly long T0 = TestData.Start.ToUnixTimeMilliseconds();
    private static readonly TimeRange All = new(T0 - 3_600_000, T0 + 3_600_000);

    [Fact]
    public async Task Head_returns_exact_stack_totals_for_every_fixture()
    {
        var clock = TestData.Clock();
        using var storage = new TestStore(time: clock);
        var fixtures = TestData.AllFixtureSeries(T0);
        foreach (var f in fixtures)
        {
            await storage.PushAsync(Tenant, Fixtures.Push([f.Series]), CancellationToken.None);
        }
        await TestData.AssertAllExactAsync(storage, Tenant, fixtures, All);
    }

    [Fact]
    public async Task Local_block_returns_the_same_totals_as_the_head()
    {
        var clock = TestData.Clock();
        using var storage = new TestStore(time: clock);
        var fixtures = TestData.AllFixtureSeries(T0);
        await storage.PushAsync(Tenant, Fixtures.Push(fixtures.Select(f => f.Series)), CancellationToken.None);
        await storage.FlushAsync();
        Assert.Single(storage.BlockIds);
        await TestData.AssertAllExactAsync(storage, Tenant, fixtures, All);
    }

    [Fact]
    public async Task Same_profile_id_pushed_twice_counts_once()
    {
        using var storage = new TestStore(time: TestData.Clock());
        var f = TestData.AllFixtureSeries(T0)[0];
        await storage.PushAsync(Tenant, Fixtures.Push([f.Series]), CancellationToken.None);
        await storage.PushAsync(Tenant, Fixtures.Push([f.Series]), CancellationToken.None);
        await TestData.AssertAllExactAsync(storage, Tenant, [f], All);
    }

    [Fact]
    public async Task Time_range_selects_profiles_by_timestamp()
    {
        using var storage = new TestStore(time: TestData.Clock());
        var profile = Fixtures.Decode("go/go-cpu.pb.gz");
        var early = Fixtures.ToSeries(profile, "svc", T0)[1];
        var late = Fixtures.ToSeries(profile, "svc", T0 + 60_000)[1];
        await storage.PushAsync(Tenant, Fixtures.Push([early, late]), CancellationToken.None);
        var reader = storage;
        var labels = LabelSet.From(early.Labels.Select(l => new Label(l.Name, l.Value)));
        var expected = Fixtures.ExpectedStacks(early.Profile).Values.Sum();

        var onlyEarly = await TestData.MergeAsync(reader, Tenant, TestData.QueryFor(labels, new TimeRange(T0, T0 + 59_999)));
        var both = await TestData.MergeAsync(reader, Tenant, TestData.QueryFor(labels, new TimeRange(T0, T0 + 60_000)));
        Assert.Equal(expected, onlyEarly.Values.Sum());
        Assert.Equal(2 * expected, both.Values.Sum());

        var totals = await reader.ProfileTotalsAsync(Tenant, TestData.QueryFor(labels, All), CancellationToken.None);
        Assert.Equal([T0, T0 + 60_000], totals.Select(t => t.TimestampMs));
        Assert.All(totals, t => Assert.Equal(expected, t.Value));
        Assert.Equal([early.Id, late.Id], totals.Select(t => t.ProfileId));
    }

    [Fact]
    public async Task Label_queries_answer_from_the_index()
    {
        using var storage = new TestStore(time: TestData.Clock());
        var fixtures = TestData.AllFixtureSeries(T0);
        await storage.PushAsync(Tenant, Fixtures.Push(fixtures.Select(f => f.Series)), CancellationToken.None);
        var reader = storage;

        var types = await reader.ProfileTypesAsync(Tenant, All, CancellationToken.None);
        Assert.Equal(fixtures.Select(f => f.Labels.Get(LabelNames.ProfileType)!).Distinct().Order(StringComparer.Ordinal), types.Select(t => t.Id));

        var services = await reader.LabelValuesAsync(Tenant, LabelNames.ServiceName, [], All, CancellationToken.None);
        Assert.Equal(fixtures.Select(f => f.Labels.Get(LabelNames.ServiceName)!).Distinct().Order(StringComparer.Ordinal), services);

        var cpu = new LabelMatcher(LabelNames.ProfileType, MatchType.Regex, "process_cpu:.*");
        var cpuSeries = await reader.SeriesAsync(Tenant, [cpu], All, CancellationToken.None);
        Assert.Equal(fixtures.Count(f => f.Labels.Get(LabelNames.ProfileType)!.StartsWith("process_cpu:")), cpuSeries.Count);

        var names = await reader.LabelNamesAsync(Tenant, [], All, CancellationToken.None);
        Assert.Contains(LabelNames.ServiceName, names);

        var stats = await reader.StatsAsync(Tenant, CancellationToken.None);
        Assert.Equal(new ProfileStats(true, T0, T0), stats);
        Assert.False((await reader.StatsAsync("other", CancellationToken.None)).DataIngested);
        Assert.Empty(await reader.LabelValuesAsync(Tenant, LabelNames.ServiceName, [], new TimeRange(0, 1000), CancellationToken.None));
    }

    [Fact]
    public async Task Each_frame_name_is_interned_once_per_source()
    {
        using var storage = new TestStore(time: TestData.Clock());
        var f = TestData.AllFixtureSeries(T0).First(x => x.File == "go/go-cpu.pb.gz");
        await storage.PushAsync(Tenant, Fixtures.Push([f.Series]), CancellationToken.None);
        var sink = new CollectingSink();
        await storage.MergeStacksAsync(Tenant, TestData.QueryFor(f.Labels, All), sink, CancellationToken.None);
        var distinctFrames = f.Expected.Keys.SelectMany(k => k.Split(';')).Distinct().Count();
        Assert.Equal(distinctFrames, sink.InternCalls);
    }

    [Fact]
    public async Task Excluded_profile_ids_are_left_out_of_merged_stacks()
    {
        using var storage = new TestStore(time: TestData.Clock());
        var f = TestData.AllFixtureSeries(T0).First(x => x.File == "go/go-cpu.pb.gz");
        var other = f.Series.Clone();
        other.Id = "another-profile";
        other.Profile.TimeNanos += 1_000_000_000;
        await storage.PushAsync(Tenant, Fixtures.Push([f.Series, other]), CancellationToken.None);
        var reader = storage;
        var query = TestData.QueryFor(f.Labels, All);

        var both = await TestData.MergeAsync(reader, Tenant, query);
        Assert.Equal(2 * f.Total, both.Values.Sum());
        var withoutOne = await TestData.MergeAsync(reader, Tenant, query with { ExcludeProfileIds = new HashSet<string> { "another-profile" } });
        Assert.Equal(f.Expected, withoutOne);
    }

    [Fact]
    public async Task Bad_tenant_and_bad_profile_are_rejected_by_name()
    {
        using var storage = new TestStore(time: TestData.Clock());
        var f = TestData.AllFixtureSeries(T0)[0];
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => storage.PushAsync("../x", Fixtures.Push([f.Series]), CancellationToken.None));
        Assert.Contains("../x", ex.Message);
        var broken = f.Series.Clone();
        broken.Id = "broken";
        broken.Profile.Sample[0].LocationId.Add(987654321);
        var bad = await Assert.ThrowsAsync<InvalidDataException>(() => storage.PushAsync(Tenant, Fixtures.Push([broken]), CancellationToken.None));
        Assert.Contains("987654321", bad.Message);
    }
}
