using Pyroscope.Ingester;
using Pyroscope.Ingester.Tests;
using Pyroscope.Model;
using Pyroscope.Storage.Blocks;
using Pyroscope.Storage.ObjectStore;
using Pyroscope.Storage.Reading;
using Pyroscope.Storage.Tests;

namespace Pyroscope.Compactor.Tests;

/// <summary>Compaction, replica de-duplication and retention, checked against every object-store backend.</summary>
public abstract class CompactorSuite
{
    private const string Tenant = "tenant-s";
    private static readonly long T0 = TestData.Start.ToUnixTimeMilliseconds();
    private static readonly TimeRange All = new(T0 - 3_600_000, T0 + 3_600_000);

    protected abstract IStoreBackend Backend { get; }

    private static BlockStoreReader Reader(IObjectStore store) => new(store, new BlockStoreReaderOptions { ListCacheDuration = TimeSpan.Zero });

    [Fact]
    public async Task Compactor_merges_replica_blocks_and_drops_duplicate_profiles()
    {
        using var dirA = new TempDir();
        using var dirB = new TempDir();
        var clock = TestData.Clock();
        var store = Backend.NewInstance();
        var fixtures = TestData.AllFixtureSeries(T0);
        var push = Fixtures.Push(fixtures.Select(f => f.Series));
        await using var replicaA = await TestEngine.OpenAsync(dirA.Path, store, clock);
        await using var replicaB = await TestEngine.OpenAsync(dirB.Path, Backend.NewInstance(), clock);
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
        var meta = BlockMeta.Parse((await store.GetAsync(Tenant + "/" + remaining + "meta.json", CancellationToken.None))!);
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
        await using var engine = await TestEngine.OpenAsync(dir.Path, store, clock);
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
}

public sealed class FileSystemCompactorTests : CompactorSuite, IDisposable
{
    private readonly FileSystemBackend _backend = new();

    protected override IStoreBackend Backend => _backend;

    public void Dispose() => _backend.Dispose();
}

public sealed class AzuriteCompactorTests(AzuriteFixture azurite) : CompactorSuite, IClassFixture<AzuriteFixture>
{
    private readonly IStoreBackend _backend = new AzuriteContainerPerTest(azurite);

    protected override IStoreBackend Backend => _backend;
}
