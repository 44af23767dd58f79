using Pyroscope.Model;
using Pyroscope.Storage.Compaction;
using Pyroscope.Storage.Ingestion;
using Pyroscope.Storage.ObjectStore;
using Pyroscope.Storage.Reading;

namespace Pyroscope.Storage.Tests;

/// <summary>The same storage behaviour checked against every object-store backend.</summary>
public abstract class StorageSuite
{
    private const string Tenant = "tenant-s";
    private static readonly long T0 = TestData.Start.ToUnixTimeMilliseconds();
    private static readonly TimeRange All = new(T0 - 3_600_000, T0 + 3_600_000);

    protected abstract IStoreBackend Backend { get; }

    private static BlockStoreReader Reader(IObjectStore store) => new(store, new BlockStoreReaderOptions { ListCacheDuration = TimeSpan.Zero });

    [Fact]
    public async Task Object_store_round_trips_objects_ranges_listing_and_deletes()
    {
        var store = Backend.NewInstance();
        var data = Enumerable.Range(0, 1000).Select(i => (byte)i).ToArray();
        await store.PutAsync("t/a/one.bin", data, CancellationToken.None);
        await store.PutAsync("t/b.bin", new byte[] { 1 }, CancellationToken.None);
        var other = Backend.NewInstance();
        Assert.Equal(data, await other.GetAsync("t/a/one.bin", CancellationToken.None));
        Assert.Equal(data.AsSpan(100, 50).ToArray(), await other.GetRangeAsync("t/a/one.bin", 100, 50, CancellationToken.None));
        Assert.Equal(["a/", "b.bin"], await other.ListAsync("t/", CancellationToken.None));
        Assert.Null(await other.GetAsync("t/missing", CancellationToken.None));
        await other.DeleteFolderAsync("t/", CancellationToken.None);
        await other.DeleteAsync("t/never-existed", CancellationToken.None);
        Assert.Empty(await store.ListAsync("t/", CancellationToken.None));
    }

    [Fact]
    public async Task Uploaded_blocks_read_back_exactly_once_from_any_instance()
    {
        using var dir = new TempDir();
        var clock = TestData.Clock();
        var store = Backend.NewInstance();
        await using var engine = await TestData.OpenAsync(dir.Path, store, clock);
        var fixtures = TestData.AllFixtureSeries(T0);
        await engine.PushAsync(Tenant, Fixtures.Push(fixtures.Select(f => f.Series)), CancellationToken.None);
        var storeReader = Reader(store);
        var combined = new CombinedReader(engine, storeReader);
        await TestData.AssertAllExactAsync(combined, Tenant, fixtures, All);

        engine.Cut();
        await engine.FlushPendingAsync(CancellationToken.None);
        await TestData.AssertAllExactAsync(combined, Tenant, fixtures, All);
        Assert.True(await engine.UploadPendingAsync(CancellationToken.None));
        // Uploaded and still local: the store copy wins, nothing is counted twice.
        await TestData.AssertAllExactAsync(combined, Tenant, fixtures, All);
        await TestData.AssertAllExactAsync(new IngesterReader(engine), Tenant, [], All);

        clock.Advance(TimeSpan.FromMinutes(3));
        await engine.CleanupAsync(CancellationToken.None);
        Assert.Empty(engine.LocalBlockIds());
        await TestData.AssertAllExactAsync(combined, Tenant, fixtures, All);

        // Another process with its own store instance reads the same blocks.
        await TestData.AssertAllExactAsync(Reader(Backend.NewInstance()), Tenant, fixtures, All);
    }

    [Fact]
    public async Task While_the_store_is_down_blocks_stay_local_and_are_uploaded_later()
    {
        using var dir = new TempDir();
        var clock = TestData.Clock();
        var flaky = new FlakyStore(Backend.NewInstance()) { Down = true };
        await using var engine = await TestData.OpenAsync(dir.Path, flaky, clock);
        var fixtures = TestData.AllFixtureSeries(T0).Take(4).ToList();
        await engine.PushAsync(Tenant, Fixtures.Push(fixtures.Select(f => f.Series)), CancellationToken.None);
        clock.Advance(TimeSpan.FromHours(1));
        await engine.RunMaintenanceAsync(CancellationToken.None);
        Assert.True(flaky.Failures > 0);
        Assert.Single(engine.LocalBlockIds());
        await TestData.AssertAllExactAsync(new IngesterReader(engine), Tenant, fixtures, All);

        flaky.Down = false;
        await engine.RunMaintenanceAsync(CancellationToken.None); // still backing off
        Assert.Empty(await Reader(Backend.NewInstance()).SeriesAsync(Tenant, [], All, CancellationToken.None));
        clock.Advance(TimeSpan.FromMinutes(1));
        await engine.RunMaintenanceAsync(CancellationToken.None);
        await TestData.AssertAllExactAsync(Reader(Backend.NewInstance()), Tenant, fixtures, All);
    }

    [Fact]
    public async Task Restart_uploads_blocks_left_local_by_a_previous_run()
    {
        using var dir = new TempDir();
        var clock = TestData.Clock();
        var fixtures = TestData.AllFixtureSeries(T0).Take(3).ToList();
        var flaky = new FlakyStore(Backend.NewInstance()) { Down = true };
        var first = await TestData.OpenAsync(dir.Path, flaky, clock);
        await first.PushAsync(Tenant, Fixtures.Push(fixtures.Select(f => f.Series)), CancellationToken.None);
        await first.ShutdownAsync(CancellationToken.None);
        await first.DisposeAsync();

        await using var second = await TestData.OpenAsync(dir.Path, Backend.NewInstance(), clock);
        await TestData.AssertAllExactAsync(new IngesterReader(second), Tenant, fixtures, All);
        Assert.True(await second.UploadPendingAsync(CancellationToken.None));
        await TestData.AssertAllExactAsync(Reader(Backend.NewInstance()), Tenant, fixtures, All);
    }

    [Fact]
    public async Task Compactor_merges_replica_blocks_and_drops_duplicate_profiles()
    {
        using var dirA = new TempDir();
        using var dirB = new TempDir();
        var clock = TestData.Clock();
        var store = Backend.NewInstance();
        var fixtures = TestData.AllFixtureSeries(T0);
        var push = Fixtures.Push(fixtures.Select(f => f.Series));
        await using var replicaA = await TestData.OpenAsync(dirA.Path, store, clock);
        await using var replicaB = await TestData.OpenAsync(dirB.Path, Backend.NewInstance(), clock);
        foreach (var replica in new[] { replicaA, replicaB })
        {
            await replica.PushAsync(Tenant, push, CancellationToken.None);
            await replica.ShutdownAsync(CancellationToken.None);
        }
        var reader = Reader(store);
        // Before compaction both replicas' blocks are live; reads count each profile id once.
        Assert.Equal(2, (await store.ListAsync(Tenant + "/", CancellationToken.None)).Count);
        await TestData.AssertAllExactAsync(reader, Tenant, fixtures, All);
        Assert.Equal(fixtures.Count, (await reader.ProfileTotalsAsync(Tenant, new SelectQuery([], All), CancellationToken.None)).Count);

        var compactor = new Compactor(store, new CompactorOptions { DeletionDelay = TimeSpan.FromHours(1) }, clock);
        clock.Advance(TimeSpan.FromMinutes(10));
        await compactor.RunOnceAsync(CancellationToken.None);
        await TestData.AssertAllExactAsync(reader, Tenant, fixtures, All);
        await TestData.AssertAllExactAsync(Reader(Backend.NewInstance()), Tenant, fixtures, All);
        // The ingester still has its local copy: the compacted block covers it.
        await TestData.AssertAllExactAsync(new CombinedReader(replicaA, reader), Tenant, fixtures, All);
        Assert.Equal(3, (await store.ListAsync(Tenant + "/", CancellationToken.None)).Count);

        clock.Advance(TimeSpan.FromHours(1));
        await compactor.RunOnceAsync(CancellationToken.None);
        var remaining = Assert.Single(await store.ListAsync(Tenant + "/", CancellationToken.None));
        var meta = Blocks.BlockMeta.Parse((await store.GetAsync(Tenant + "/" + remaining + "meta.json", CancellationToken.None))!);
        Assert.Equal(fixtures.Count, meta.Stats.NumProfiles); // duplicates dropped, not just hidden
        Assert.Equal(2, meta.Compaction.Level);
        Assert.Equal(2, meta.Compaction.Sources.Count);
        await TestData.AssertAllExactAsync(Reader(Backend.NewInstance()), Tenant, fixtures, All);
    }

    [Fact]
    public async Task Retention_marks_old_blocks_then_deletes_them_after_the_delay()
    {
        using var dir = new TempDir();
        var clock = TestData.Clock();
        var store = Backend.NewInstance();
        var old = TestData.AllFixtureSeries(T0).Take(2).ToList();
        await using var engine = await TestData.OpenAsync(dir.Path, store, clock);
        await engine.PushAsync(Tenant, Fixtures.Push(old.Select(f => f.Series)), CancellationToken.None);
        await engine.ShutdownAsync(CancellationToken.None);

        clock.Advance(TimeSpan.FromDays(8));
        var fresh = TestData.AllFixtureSeries(clock.GetUtcNow().ToUnixTimeMilliseconds()).Take(2).ToList();
        await engine.PushAsync(Tenant, Fixtures.Push(fresh.Select(f => f.Series)), CancellationToken.None);
        await engine.ShutdownAsync(CancellationToken.None);

        var compactor = new Compactor(store, new CompactorOptions { BlocksRetentionPeriod = TimeSpan.FromDays(7), DeletionDelay = TimeSpan.FromHours(2) }, clock);
        var reader = Reader(store);
        var everything = new TimeRange(0, long.MaxValue);
        Assert.Equal(4, (await reader.ProfileTotalsAsync(Tenant, new SelectQuery([], everything), CancellationToken.None)).Count);
        await compactor.RunOnceAsync(CancellationToken.None);
        // Marked: invisible to new queries at once, files still there for running ones.
        var afterMark = await reader.ProfileTotalsAsync(Tenant, new SelectQuery([], everything), CancellationToken.None);
        Assert.Equal(2, afterMark.Count);
        Assert.All(afterMark, t => Assert.True(t.TimestampMs > T0));
        Assert.Equal(2, (await store.ListAsync(Tenant + "/", CancellationToken.None)).Count);

        clock.Advance(TimeSpan.FromHours(2));
        await compactor.RunOnceAsync(CancellationToken.None);
        Assert.Single(await store.ListAsync(Tenant + "/", CancellationToken.None));
        var newRange = new TimeRange(clock.GetUtcNow().ToUnixTimeMilliseconds() - 7_200_000, clock.GetUtcNow().ToUnixTimeMilliseconds());
        await TestData.AssertAllExactAsync(Reader(Backend.NewInstance()), Tenant, fresh, newRange);
    }

    [Fact]
    public async Task Tenants_are_isolated_top_level_folders()
    {
        using var dir = new TempDir();
        var store = Backend.NewInstance();
        await using var engine = await TestData.OpenAsync(dir.Path, store, TestData.Clock());
        var f = TestData.AllFixtureSeries(T0)[0];
        await engine.PushAsync("alpha", Fixtures.Push([f.Series]), CancellationToken.None);
        await engine.ShutdownAsync(CancellationToken.None);
        var tenants = await store.ListAsync("", CancellationToken.None);
        Assert.Contains("alpha/", tenants);
        Assert.Empty(await Reader(store).SeriesAsync("beta", [], All, CancellationToken.None));
        Assert.Single(await Reader(store).SeriesAsync("alpha", [], All, CancellationToken.None));
    }
}

public sealed class FileSystemStorageTests : StorageSuite, IDisposable
{
    private readonly FileSystemBackend _backend = new();

    protected override IStoreBackend Backend => _backend;

    public void Dispose() => _backend.Dispose();
}

public sealed class AzuriteStorageTests(AzuriteFixture azurite) : StorageSuite, IClassFixture<AzuriteFixture>
{
    private readonly IStoreBackend _backend = new ContainerPerTest(azurite);

    protected override IStoreBackend Backend => _backend;

    /// <summary>Each test gets its own container so tests do not see each other's blocks.</summary>
    private sealed class ContainerPerTest(AzuriteFixture azurite) : IStoreBackend
    {
        private readonly string _container = "c" + Guid.NewGuid().ToString("N")[..12];

        public IObjectStore NewInstance() => azurite.NewInstance(_container);
    }
}
