using Pyroscope.Model;
using Pyroscope.Storage.ObjectStore;
using Pyroscope.Storage.Reading;

namespace Pyroscope.Storage.Tests;

/// <summary>The object stores and the block layout in them, checked against every backend.</summary>
public abstract class ObjectStoreSuite
{
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
    public async Task Tenants_are_isolated_top_level_folders()
    {
        var store = Backend.NewInstance();
        using var storage = new TestStore(store);
        var f = TestData.AllFixtureSeries(T0)[0];
        await storage.PushAsync("alpha", Fixtures.Push([f.Series]), CancellationToken.None);
        await storage.FlushAsync();
        var tenants = await store.ListAsync("", CancellationToken.None);
        Assert.Contains("alpha/", tenants);
        Assert.Empty(await Reader(store).SeriesAsync("beta", [], All, CancellationToken.None));
        Assert.Single(await Reader(store).SeriesAsync("alpha", [], All, CancellationToken.None));
    }
}

public sealed class FileSystemObjectStoreTests : ObjectStoreSuite, IDisposable
{
    private readonly FileSystemBackend _backend = new();

    protected override IStoreBackend Backend => _backend;

    public void Dispose() => _backend.Dispose();
}

public sealed class AzuriteObjectStoreTests(AzuriteFixture azurite) : ObjectStoreSuite, IClassFixture<AzuriteFixture>
{
    private readonly IStoreBackend _backend = new AzuriteContainerPerTest(azurite);

    protected override IStoreBackend Backend => _backend;
}
