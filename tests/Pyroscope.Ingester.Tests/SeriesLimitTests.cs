using System.Net;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Pyroscope.Api.Limits;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Ingester;
using Pyroscope.Model;
using Pyroscope.Ring;
using Pyroscope.Storage.Reading;

namespace Pyroscope.Ingester.Tests;

/// <summary>Per-tenant active-series limits in the ingester (upstream pkg/ingester/limiter.go).</summary>
public sealed class SeriesLimitTests
{
    private const string Tenant = "t-limit";
    private static readonly long T0 = TestData.Start.ToUnixTimeMilliseconds();
    private static readonly TimeRange All = new(T0 - 3_600_000, T0 + 3_600_000);
    private static readonly Contracts.Google.V1.Profile CpuProfile = Fixtures.Decode("go/go-cpu.pb.gz");

    /// <summary>One series (the first sample type of a real profile) of service <paramref name="service"/>.</summary>
    private static ProfileSeries SeriesOf(string service) => Fixtures.ToSeries(CpuProfile, service, T0)[0];

    private static PushRequest PushOf(params ProfileSeries[] series) => Fixtures.Push(series);

    private static LabelSet LabelsOf(ProfileSeries series) => LabelSet.From(series.Labels.Select(l => new Label(l.Name, l.Value)));

    /// <summary>Record bytes the WAL took (its files are zero-filled ahead, so their length does not tell).</summary>
    private static long WalBytes(IngesterEngine engine) => engine.Wal!.BytesWritten;

    private static async Task<IReadOnlyList<LabelSet>> SeriesInHeadAsync(IngesterEngine engine, string tenant) =>
        await new IngesterReader(engine).SeriesAsync(tenant, [], All, CancellationToken.None);

    private sealed class FixedLimits(SeriesLimit limit, Dictionary<string, SeriesLimit>? perTenant = null) : ISeriesLimits
    {
        public int Lookups;

        public SeriesLimit For(string tenantId)
        {
            Interlocked.Increment(ref Lookups);
            return perTenant is not null && perTenant.TryGetValue(tenantId, out var l) ? l : limit;
        }
    }

    [Theory]
    // local, global, healthy ingesters, RF → expected per-ingester limit, computed by hand:
    [InlineData(0, 5000, 1, 1, 5000)]        // monolith: the global limit applies as is
    [InlineData(0, 6000, 4, 2, 3000)]        // 6000 / 4 × 2
    [InlineData(0, 5000, 3, 3, 5000)]        // every ingester holds every series
    [InlineData(0, 100, 3, 1, 33)]           // 33.3 truncated, as upstream's int() conversion
    [InlineData(1000, 6000, 4, 2, 1000)]     // the stricter non-zero of local (1000) and global share (3000)
    [InlineData(4000, 6000, 4, 2, 3000)]
    [InlineData(700, 0, 4, 2, 700)]          // global off: local only
    [InlineData(0, 5000, 0, 1, 0)]           // no healthy ingester known yet: global ignored, nothing left
    [InlineData(250, 5000, 0, 1, 250)]
    [InlineData(0, 0, 3, 1, 0)]              // both off
    public void Effective_limit_is_the_global_share_by_healthy_ingesters_and_replication_factor_or_the_local_limit(
        int local, int global, int ingesters, int replicationFactor, int expected)
    {
        Assert.Equal(expected, new SeriesLimit(local, global, ingesters, replicationFactor).Effective);
    }

    [Fact]
    public void Tenant_series_limits_count_heartbeating_ring_members_and_use_the_rings_replication_factor()
    {
        var now = TestData.Start.ToUnixTimeMilliseconds();
        var descriptor = new RingDescriptor();
        // Two fresh members (one still joining: dskit counts any state), one whose heartbeat is stale.
        descriptor.Instances["ing-1"] = new InstanceDesc { Id = "ing-1", State = InstanceState.Active, HeartbeatTimestampMs = now, Tokens = [1] };
        descriptor.Instances["ing-2"] = new InstanceDesc { Id = "ing-2", State = InstanceState.Joining, HeartbeatTimestampMs = now - 5_000, Tokens = [2] };
        descriptor.Instances["ing-3"] = new InstanceDesc { Id = "ing-3", State = InstanceState.Active, HeartbeatTimestampMs = now - 120_000, Tokens = [3] };
        var ring = new FakeRing(new RingSnapshot(1, descriptor), replicationFactor: 3, now, TimeSpan.FromMinutes(1));
        var limits = new StaticTenantLimitsProvider(TenantLimits.Defaults with { MaxGlobalSeriesPerTenant = 1000, MaxLocalSeriesPerTenant = 0 },
            new Dictionary<string, TenantLimits> { ["big"] = TenantLimits.Defaults with { MaxGlobalSeriesPerTenant = 0, MaxLocalSeriesPerTenant = 42 } });

        var limit = new TenantSeriesLimits(limits, ring).For("someone");
        Assert.Equal(new SeriesLimit(0, 1000, 2, 3), limit);
        Assert.Equal(1000 / 2 * 3, limit.Effective);
        Assert.Equal(42, new TenantSeriesLimits(limits, ring).For("big").Effective);
        Assert.Equal(1000, new TenantSeriesLimits(limits, ring: null).For("someone").Effective);
    }

    [Fact]
    public async Task A_push_creating_a_series_beyond_the_limit_is_refused_whole_and_existing_series_keep_working()
    {
        using var dir = new TempDir();
        await using var engine = await TestEngine.OpenAsync(dir.Path, null, TestData.Clock());
        var limits = new FixedLimits(new SeriesLimit(0, 3, 1, 1));
        engine.SeriesLimits = limits;
        var s1 = SeriesOf("svc-1");
        await engine.PushAsync(Tenant, PushOf(s1), CancellationToken.None);
        await engine.PushAsync(Tenant, PushOf(SeriesOf("svc-2"), SeriesOf("svc-3")), CancellationToken.None);
        Assert.Equal(3, engine.ActiveSeriesCount(Tenant));
        var walBefore = WalBytes(engine);
        var expected = Fixtures.ExpectedStacks(s1.Profile);

        // A series already there plus a fourth one: nothing of the push may land, not even the known series' profile.
        var refused = await Assert.ThrowsAsync<SeriesLimitExceededException>(() =>
            engine.PushAsync(Tenant, PushOf(SeriesOf("svc-1"), SeriesOf("svc-4")), CancellationToken.None));
        Assert.Contains("(3/3)", refused.Message);
        Assert.Contains("max_global_series_per_tenant=3", refused.Message);
        Assert.Contains("1 new series", refused.Message);
        Assert.Equal(walBefore, WalBytes(engine));
        var series = await SeriesInHeadAsync(engine, Tenant);
        Assert.Equal(3, series.Count);
        Assert.DoesNotContain(series, l => l.Get(LabelNames.ServiceName) == "svc-4");
        Assert.Equal(expected, await TestData.MergeAsync(new IngesterReader(engine), Tenant, TestData.QueryFor(LabelsOf(s1), All)));
        Assert.Equal(3, engine.ActiveSeriesCount(Tenant));

        // Existing series are still accepted: svc-1 now holds two profiles' worth.
        await engine.PushAsync(Tenant, PushOf(SeriesOf("svc-1")), CancellationToken.None);
        Assert.True(WalBytes(engine) > walBefore);
        var doubled = await TestData.MergeAsync(new IngesterReader(engine), Tenant, TestData.QueryFor(LabelsOf(s1), All));
        Assert.Equal(expected.ToDictionary(kv => kv.Key, kv => kv.Value * 2), doubled);

        // Another tenant has its own count.
        await engine.PushAsync("other", PushOf(SeriesOf("svc-4")), CancellationToken.None);
        Assert.Equal(1, engine.ActiveSeriesCount("other"));
    }

    [Fact]
    public async Task The_limit_is_looked_up_only_when_a_push_brings_a_new_series()
    {
        using var dir = new TempDir();
        await using var engine = await TestEngine.OpenAsync(dir.Path, null, TestData.Clock());
        var limits = new FixedLimits(new SeriesLimit(0, 10, 1, 1));
        engine.SeriesLimits = limits;
        await engine.PushAsync(Tenant, PushOf(SeriesOf("a"), SeriesOf("b")), CancellationToken.None);
        Assert.Equal(1, limits.Lookups);
        for (var i = 0; i < 5; i++)
        {
            await engine.PushAsync(Tenant, PushOf(SeriesOf("a"), SeriesOf("b")), CancellationToken.None);
        }
        Assert.Equal(1, limits.Lookups);
    }

    [Fact]
    public async Task A_push_whose_new_series_alone_exceed_the_limit_is_refused_even_on_an_empty_tenant()
    {
        using var dir = new TempDir();
        await using var engine = await TestEngine.OpenAsync(dir.Path, null, TestData.Clock());
        engine.SeriesLimits = new FixedLimits(new SeriesLimit(2, 0, 1, 1));
        var walBefore = WalBytes(engine);
        var refused = await Assert.ThrowsAsync<SeriesLimitExceededException>(() =>
            engine.PushAsync(Tenant, PushOf(SeriesOf("a"), SeriesOf("b"), SeriesOf("c")), CancellationToken.None));
        Assert.Contains("(0/2)", refused.Message);
        Assert.Contains("max_local_series_per_tenant=2", refused.Message);
        Assert.Equal(walBefore, WalBytes(engine));
        Assert.Empty(await SeriesInHeadAsync(engine, Tenant));
        Assert.Equal(0, engine.ActiveSeriesCount(Tenant));
        // The same series twice in one push is one new series.
        await engine.PushAsync(Tenant, PushOf(SeriesOf("a"), SeriesOf("a"), SeriesOf("b")), CancellationToken.None);
        Assert.Equal(2, engine.ActiveSeriesCount(Tenant));
    }

    [Fact]
    public async Task Per_tenant_overrides_from_configuration_set_each_tenants_limit()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["limits:max_global_series_per_tenant"] = "3",
            ["overrides:small:max_global_series_per_tenant"] = "0",
            ["overrides:small:max_local_series_per_tenant"] = "1",
        }).Build();
        var provider = new ConfigurationTenantLimitsProvider(config);
        Assert.Equal(1, provider.For("small").MaxLocalSeriesPerTenant);
        Assert.Equal(0, provider.Defaults.MaxLocalSeriesPerTenant);
        using var dir = new TempDir();
        await using var engine = await TestEngine.OpenAsync(dir.Path, null, TestData.Clock());
        engine.SeriesLimits = new TenantSeriesLimits(provider, ring: null);

        await engine.PushAsync("small", PushOf(SeriesOf("a")), CancellationToken.None);
        var refused = await Assert.ThrowsAsync<SeriesLimitExceededException>(() => engine.PushAsync("small", PushOf(SeriesOf("b")), CancellationToken.None));
        Assert.Contains("max_local_series_per_tenant=1", refused.Message);
        foreach (var service in new[] { "a", "b", "c" })
        {
            await engine.PushAsync("default", PushOf(SeriesOf(service)), CancellationToken.None);
        }
        await Assert.ThrowsAsync<SeriesLimitExceededException>(() => engine.PushAsync("default", PushOf(SeriesOf("d")), CancellationToken.None));
    }

    [Fact]
    public async Task Series_idle_longer_than_the_active_timeout_stop_counting()
    {
        using var dir = new TempDir();
        var clock = TestData.Clock();
        await using var engine = await TestEngine.OpenAsync(dir.Path, null, clock);
        engine.SeriesLimits = new FixedLimits(new SeriesLimit(0, 2, 1, 1));
        await engine.PushAsync(Tenant, PushOf(SeriesOf("a")), CancellationToken.None);
        clock.Advance(TimeSpan.FromMinutes(6));
        await engine.PushAsync(Tenant, PushOf(SeriesOf("b")), CancellationToken.None);
        await Assert.ThrowsAsync<SeriesLimitExceededException>(() => engine.PushAsync(Tenant, PushOf(SeriesOf("c")), CancellationToken.None));

        // 11 minutes after "a", 5 after "b": only "a" is idle past the 10-minute timeout.
        clock.Advance(TimeSpan.FromMinutes(5));
        engine.RemoveIdleSeries();
        Assert.Equal(1, engine.ActiveSeriesCount(Tenant));
        await engine.PushAsync(Tenant, PushOf(SeriesOf("c")), CancellationToken.None);
        await Assert.ThrowsAsync<SeriesLimitExceededException>(() => engine.PushAsync(Tenant, PushOf(SeriesOf("a")), CancellationToken.None));
    }

    [Fact]
    public async Task Concurrent_pushes_of_new_series_never_overshoot_the_limit()
    {
        using var dir = new TempDir();
        await using var engine = await TestEngine.OpenAsync(dir.Path, null, TestData.Clock());
        const int limit = 5;
        engine.SeriesLimits = new FixedLimits(new SeriesLimit(0, limit, 1, 1));
        var pushes = Enumerable.Range(0, 24).Select(i => SeriesOf("svc-" + i)).ToList();
        using var start = new ManualResetEventSlim();
        var tasks = pushes.Select(series => Task.Run(async () =>
        {
            start.Wait();
            try
            {
                await engine.PushAsync(Tenant, PushOf(series), CancellationToken.None);
                return true;
            }
            catch (SeriesLimitExceededException)
            {
                return false;
            }
        })).ToList();
        start.Set();
        var accepted = (await Task.WhenAll(tasks)).Count(ok => ok);
        Assert.Equal(limit, accepted);
        Assert.Equal(limit, engine.ActiveSeriesCount(Tenant));
        Assert.Equal(limit, (await SeriesInHeadAsync(engine, Tenant)).Count);
    }

    [Fact]
    public async Task Series_replayed_from_the_wal_count_against_the_limit_after_a_restart()
    {
        using var dir = new TempDir();
        var crashed = await TestEngine.OpenAsync(dir.Path, null, TestData.Clock());
        await crashed.PushAsync(Tenant, PushOf(SeriesOf("a"), SeriesOf("b")), CancellationToken.None);
        await crashed.DisposeAsync();

        await using var restarted = await TestEngine.OpenAsync(dir.Path, null, TestData.Clock());
        restarted.SeriesLimits = new FixedLimits(new SeriesLimit(0, 2, 1, 1));
        Assert.Equal(2, restarted.ActiveSeriesCount(Tenant));
        await restarted.PushAsync(Tenant, PushOf(SeriesOf("a")), CancellationToken.None);
        await Assert.ThrowsAsync<SeriesLimitExceededException>(() => restarted.PushAsync(Tenant, PushOf(SeriesOf("c")), CancellationToken.None));
    }

    [Fact]
    public async Task Grpc_push_over_the_limit_answers_resource_exhausted_with_the_limit_named()
    {
        using var data = new TempDir();
        using var shared = new TempDir();
        var port = Pyroscope.Testing.FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddIngester(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["pyroscopedb:data_path"] = data.Path,
            ["storage:backend"] = "filesystem",
            ["storage:filesystem:dir"] = shared.Path,
            ["limits:max_global_series_per_tenant"] = "1",
        }).Build());
        await using var app = builder.Build();
        app.MapIngester();
        await app.StartAsync(TestContext.Current.CancellationToken);
        try
        {
            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
            var client = new IngesterService.IngesterServiceClient(channel);
            var headers = new Metadata { { "x-scope-orgid", Tenant } };
            await client.PushAsync(PushOf(SeriesOf("a")), headers, cancellationToken: TestContext.Current.CancellationToken);
            var e = await Assert.ThrowsAsync<RpcException>(async () =>
                await client.PushAsync(PushOf(SeriesOf("b")), headers, cancellationToken: TestContext.Current.CancellationToken));
            Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
            Assert.Contains("(1/1)", e.Status.Detail);
            Assert.Contains("max_global_series_per_tenant=1", e.Status.Detail);
            await client.PushAsync(PushOf(SeriesOf("a")), headers, cancellationToken: TestContext.Current.CancellationToken);
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
        }
    }

    private sealed class FakeRing(RingSnapshot snapshot, int replicationFactor, long nowMs, TimeSpan heartbeatTimeout) : IRing
    {
        public RingSnapshot Current => snapshot;

        public int ReplicationFactor => replicationFactor;

        public TimeSpan HeartbeatTimeout => heartbeatTimeout;

        public long NowMs => nowMs;

        public ReplicationSet GetReplicationSet(uint token, int replicationFactor, RingOperation operation = RingOperation.Write) =>
            throw new NotSupportedException();

        public IReadOnlyList<InstanceDesc> GetAllHealthy(RingOperation operation = RingOperation.Read) =>
            throw new NotSupportedException();
    }
}
