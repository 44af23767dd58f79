using Pyroscope.Model;
using Pyroscope.Storage.ObjectStore;
using Pyroscope.Storage.Reading;

namespace Pyroscope.Ingester.Tests;

/// <summary>The ingester's flush, upload (with outages and restarts) and local cleanup, checked against every object-store backend.</summary>
public abstract class UploadSuite
{
    private const string Tenant = "tenant-s";
    private static readonly long T0 = TestData.Start.ToUnixTimeMilliseconds();
    private static readonly TimeRange All = new(T0 - 3_600_000, T0 + 3_600_000);

    protected abstract IStoreBackend Backend { get; }

    private static BlockStoreReader Reader(IObjectStore store) => new(store, new BlockStoreReaderOptions { ListCacheDuration = TimeSpan.Zero });

    [Fact]
    public async Task Uploaded_blocks_read_back_exactly_once_from_any_instance()
    {
        using var dir = new TempDir();
        var clock = TestData.Clock();
        var store = Backend.NewInstance();
        await using var engine = await TestEngine.OpenAsync(dir.Path, store, clock);
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
        await using var engine = await TestEngine.OpenAsync(dir.Path, flaky, clock);
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
        var first = await TestEngine.OpenAsync(dir.Path, flaky, clock);
        await first.PushAsync(Tenant, Fixtures.Push(fixtures.Select(f => f.Series)), CancellationToken.None);
        await first.ShutdownAsync(CancellationToken.None);
        await first.DisposeAsync();

        await using var second = await TestEngine.OpenAsync(dir.Path, Backend.NewInstance(), clock);
        await TestData.AssertAllExactAsync(new IngesterReader(second), Tenant, fixtures, All);
        Assert.True(await second.UploadPendingAsync(CancellationToken.None));
        await TestData.AssertAllExactAsync(Reader(Backend.NewInstance()), Tenant, fixtures, All);
    }
}

public sealed class FileSystemUploadTests : UploadSuite, IDisposable
{
    private readonly FileSystemBackend _backend = new();

    protected override IStoreBackend Backend => _backend;

    public void Dispose() => _backend.Dispose();
}

public sealed class AzuriteUploadTests(AzuriteFixture azurite) : UploadSuite, IClassFixture<AzuriteFixture>
{
    private readonly IStoreBackend _backend = new AzuriteContainerPerTest(azurite);

    protected override IStoreBackend Backend => _backend;
}
