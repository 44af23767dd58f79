using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Ingester;
using Pyroscope.Ingester.Client;
using Pyroscope.Model;
using Pyroscope.Model.Query;
using Pyroscope.Ring;
using Pyroscope.Storage.Blocks;
using Pyroscope.Storage.ObjectStore;
using Pyroscope.Storage.Reading;
using Pyroscope.Testing;

namespace Pyroscope.Ingester.Tests;

/// <summary>
/// Microservices mode: a querier reading the object store plus a remote ingester (real gRPC) counts every
/// profile exactly once across an upload, whatever its store listing says.
/// </summary>
public sealed class StoreViewTests
{
    private const string Tenant = "tenant-view";
    private static readonly long T0 = TestData.Start.ToUnixTimeMilliseconds();
    private static readonly TimeRange All = new(T0 - 3_600_000, T0 + 3_600_000);

    [Fact]
    public async Task A_block_uploaded_after_the_querier_cached_its_listing_is_counted_once()
    {
        await using var setup = await Setup.StartAsync();
        var fixtures = await setup.PushAndFlushAsync();

        // The querier lists the store (empty) and caches that listing; the fake clock never lets it expire.
        await AssertExactlyOnceAsync(setup.Querier, fixtures);
        Assert.True(await setup.Engine.UploadPendingAsync(TestContext.Current.CancellationToken));
        Assert.Single(await setup.Shared.ListAsync(Tenant + "/", TestContext.Current.CancellationToken));
        Assert.Equal(0, (await setup.StoreReader.SnapshotAsync(Tenant, TestContext.Current.CancellationToken)).BlockCount);

        // Stale listing: the uploaded block is answered by the ingester.
        await AssertExactlyOnceAsync(setup.Querier, fixtures);

        // Fresh listing: the store answers it and the ingester leaves it out.
        setup.StoreReader.Invalidate(Tenant);
        Assert.Equal(1, (await setup.StoreReader.SnapshotAsync(Tenant, TestContext.Current.CancellationToken)).BlockCount);
        await AssertExactlyOnceAsync(setup.Querier, fixtures);

        // A caller without a store view (an older querier) still gets only the not-yet-uploaded data.
        Assert.Empty(await setup.Ingesters.ProfileTotalsAsync(Tenant, new SelectQuery([], All), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_block_already_listed_but_not_yet_marked_uploaded_is_counted_once()
    {
        await using var setup = await Setup.StartAsync();
        var fixtures = await setup.PushAndFlushAsync();
        await AssertExactlyOnceAsync(setup.Querier, fixtures);

        // Query from inside the upload, right after meta.json reached the store and before the ingester marks
        // the block uploaded. The engine swallows upload exceptions, so the outcome is checked afterwards.
        int? listedBlocks = null;
        Exception? failure = null;
        setup.Shared.AfterPut = async key =>
        {
            if (!key.EndsWith("/" + BlockFileNames.Meta, StringComparison.Ordinal))
            {
                return;
            }
            try
            {
                setup.StoreReader.Invalidate(Tenant);
                listedBlocks = (await setup.StoreReader.SnapshotAsync(Tenant, CancellationToken.None)).BlockCount;
                await AssertExactlyOnceAsync(setup.Querier, fixtures);
            }
            catch (Exception e)
            {
                failure = e;
            }
        };
        Assert.True(await setup.Engine.UploadPendingAsync(TestContext.Current.CancellationToken));
        setup.Shared.AfterPut = null;

        Assert.Equal(1, listedBlocks);
        if (failure is not null)
        {
            throw new Xunit.Sdk.XunitException("counted wrongly while the block was listed but not marked uploaded: " + failure.Message);
        }
        await AssertExactlyOnceAsync(setup.Querier, fixtures);
    }

    [Fact]
    public async Task A_compacted_store_block_covers_its_sources_on_the_ingester()
    {
        await using var setup = await Setup.StartAsync();
        var fixtures = await setup.PushAndFlushAsync();
        Assert.True(await setup.Engine.UploadPendingAsync(TestContext.Current.CancellationToken));
        var ct = TestContext.Current.CancellationToken;
        var blockId = Assert.Single(setup.Engine.Snapshot(Tenant).Blocks).Block.Meta.Ulid;

        // What the compactor leaves behind: a level-2 block listing the uploaded block as its source, which the
        // store reader then reads instead of it. The ingester still holds the source block locally.
        var meta = BlockMeta.Parse(await setup.Shared.GetAsync($"{Tenant}/{blockId}/{BlockFileNames.Meta}", ct));
        var compactedId = Ulid.NewUlid(TestData.Start.AddMinutes(5)).ToString();
        foreach (var file in meta.Files)
        {
            await setup.Shared.PutAsync($"{Tenant}/{compactedId}/{file.Name}", (await setup.Shared.GetAsync($"{Tenant}/{blockId}/{file.Name}", ct))!, ct);
        }
        meta.Ulid = compactedId;
        meta.Compaction = new BlockCompaction { Level = 2, Sources = [blockId] };
        await setup.Shared.PutAsync($"{Tenant}/{compactedId}/{BlockFileNames.Meta}", meta.ToJson(), ct);

        setup.StoreReader.Invalidate(Tenant);
        var snapshot = await setup.StoreReader.SnapshotAsync(Tenant, ct);
        Assert.Equal(1, snapshot.BlockCount);
        Assert.Equal(new HashSet<string>([compactedId, blockId]), snapshot.CoveredBlockIds);
        await AssertExactlyOnceAsync(setup.Querier, fixtures);

        // A block's time span contains those of the blocks it covers, so a read of a range it does not overlap
        // needs none of its ids.
        Assert.Equal(2, snapshot.CoveredBlockIdsOverlapping(All).Count);
        Assert.Empty(snapshot.CoveredBlockIdsOverlapping(new TimeRange(All.EndMs + 1, All.EndMs + 1000)));
    }

    [Fact]
    public async Task A_replica_already_in_the_store_is_not_counted_again_from_another_ingester()
    {
        // Replication factor 2: both ingesters hold every profile (same ids) in their own blocks.
        await using var setup = await Setup.StartAsync(ingesters: 2);
        var fixtures = await setup.PushAndFlushAsync();
        await AssertExactlyOnceAsync(setup.Querier, fixtures);

        // One replica's block reaches the store; the other ingester still holds its copy, not uploaded.
        Assert.True(await setup.Engines[0].UploadPendingAsync(TestContext.Current.CancellationToken));
        setup.StoreReader.Invalidate(Tenant);
        Assert.Equal(1, (await setup.StoreReader.SnapshotAsync(Tenant, TestContext.Current.CancellationToken)).BlockCount);
        await AssertExactlyOnceAsync(setup.Querier, fixtures);
    }

    /// <summary>Stacks, totals and series of every fixture series match the pushed input exactly (so no profile is missing or doubled).</summary>
    private static async Task AssertExactlyOnceAsync(IProfileReader reader, List<FixtureSeries> fixtures)
    {
        await TestData.AssertAllExactAsync(reader, Tenant, fixtures, All);
        foreach (var f in fixtures)
        {
            // The symbolised export (MergeProfile RPC + store snapshot) follows the same rules.
            var merger = new PprofMerger();
            await reader.MergeProfileAsync(Tenant, TestData.QueryFor(f.Labels, All), merger, CancellationToken.None);
            Assert.Equal(new PprofSymbols(f.Series.Profile).FlatByLine(0), new PprofSymbols(merger.ToProfile()).FlatByLine(0));
        }
        long expectedSum = 0;
        foreach (var f in fixtures)
        {
            var totals = await reader.ProfileTotalsAsync(Tenant, TestData.QueryFor(f.Labels, All), CancellationToken.None);
            var total = Assert.Single(totals);
            Assert.Equal(f.Total, total.Value);
            expectedSum += f.Total;
        }
        var everything = await reader.ProfileTotalsAsync(Tenant, new SelectQuery([], All), CancellationToken.None);
        Assert.Equal(fixtures.Count, everything.Count);
        Assert.Equal(expectedSum, everything.Sum(t => t.Value));
        Assert.Equal(fixtures.Count, (await reader.SeriesAsync(Tenant, [], All, CancellationToken.None)).Count);
        var stats = await reader.StatsAsync(Tenant, CancellationToken.None);
        Assert.Equal(new ProfileStats(true, T0, T0), stats);
    }

    /// <summary>Ingester engines behind their real gRPC services, a shared filesystem store, and the querier's reader.</summary>
    private sealed class Setup : IAsyncDisposable
    {
        private readonly List<IAsyncDisposable> _owned = [];
        private readonly List<TempDir> _dirs = [];
        private readonly IngesterChannelPool _channels = new();
        private readonly List<InstanceDesc> _instances = [];

        private Setup(TempDir shared)
        {
            _dirs.Add(shared);
            Shared = new HookedStore(new FileSystemObjectStore(shared.Path));
            Ingesters = new RemoteIngestersReader(new FixedRing(_instances), _channels);
            // The querier's own view of the store: a fake clock, so a cached listing stays cached until invalidated.
            StoreReader = new BlockStoreReader(new FileSystemObjectStore(shared.Path), time: new FakeTimeProvider(TestData.Start));
            Querier = new StoreAndIngestersReader(StoreReader, Ingesters);
        }

        public HookedStore Shared { get; }

        public List<IngesterEngine> Engines { get; } = [];

        public IngesterEngine Engine => Engines[0];

        public RemoteIngestersReader Ingesters { get; }

        public BlockStoreReader StoreReader { get; }

        public StoreAndIngestersReader Querier { get; }

        public static async Task<Setup> StartAsync(int ingesters = 1)
        {
            var setup = new Setup(new TempDir());
            for (var i = 1; i <= ingesters; i++)
            {
                await setup.StartIngesterAsync($"ingester-{i}");
            }
            return setup;
        }

        private async Task StartIngesterAsync(string id)
        {
            var data = new TempDir();
            _dirs.Add(data);
            var engine = await TestEngine.OpenAsync(data.Path, Shared, TestData.Clock());
            _owned.Add(engine);
            Engines.Add(engine);
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
            builder.Services.AddGrpc();
            builder.Services.AddSingleton(engine);
            builder.Services.AddSingleton(new IngesterReader(engine));
            var app = builder.Build();
            app.MapIngester();
            await app.StartAsync(TestContext.Current.CancellationToken);
            _owned.Insert(0, app); // stopped before its engine is disposed
            var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
            _instances.Add(new InstanceDesc { Id = id, GrpcAddr = $"127.0.0.1:{address.Port}", State = InstanceState.Active });
        }

        /// <summary>Pushes every fixture series to every ingester (same profile ids, like replicas) and cuts them into local blocks (not uploaded yet).</summary>
        public async Task<List<FixtureSeries>> PushAndFlushAsync()
        {
            var fixtures = TestData.AllFixtureSeries(T0);
            foreach (var engine in Engines)
            {
                await engine.PushAsync(Tenant, Fixtures.Push(fixtures.Select(f => f.Series)), TestContext.Current.CancellationToken);
                engine.Cut();
                await engine.FlushPendingAsync(TestContext.Current.CancellationToken);
            }
            return fixtures;
        }

        public async ValueTask DisposeAsync()
        {
            _channels.Dispose();
            foreach (var owned in _owned)
            {
                if (owned is WebApplication app)
                {
                    await app.StopAsync();
                }
                await owned.DisposeAsync();
            }
            foreach (var dir in _dirs)
            {
                dir.Dispose();
            }
        }
    }

    /// <summary>A store that runs a callback after each write, to act inside an upload.</summary>
    public sealed class HookedStore(IObjectStore inner) : IObjectStore
    {
        public Func<string, Task>? AfterPut { get; set; }

        public async Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            await inner.PutAsync(key, data, cancellationToken);
            if (AfterPut is { } hook)
            {
                await hook(key);
            }
        }

        public Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken) => inner.GetAsync(key, cancellationToken);

        public Task<byte[]> GetRangeAsync(string key, long offset, int length, CancellationToken cancellationToken) => inner.GetRangeAsync(key, offset, length, cancellationToken);

        public Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);

        public Task DeleteAsync(string key, CancellationToken cancellationToken) => inner.DeleteAsync(key, cancellationToken);
    }
}
