using System.Globalization;
using Pyroscope.Formats.Ingest;
using Pyroscope.LoadTest.Workload;
using Pyroscope.Model.Ingest;
using Pyroscope.Storage.Head;

namespace Pyroscope.Benchmarks.Storage;

/// <summary>
/// <c>dotnet run -c Release --project bench/Pyroscope.Benchmarks -- head-memory [pushes]</c>: what a head really holds
/// against what it thinks it holds (<see cref="TenantHead.EstimatedBytes"/>, the figure <c>max_head_bytes</c> is
/// compared with). Appends the load test's small-profile mix (200 services × 5 pods × 4 real fixtures, normalised as
/// the distributor does) to one head and prints, every tenth of the run, the managed heap after a full blocking GC
/// minus the heap before the head existed, and the head's estimate.
/// </summary>
public static class HeadMemoryReport
{
    private const long Now = 1_800_000_000_000_000_000;

    public static void Run(string[] args)
    {
        if (args is [_, "ebpf", ..])
        {
            AppendLarge(args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 40);
            return;
        }
        var pushes = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 100_000;
        using var fixtures = new FixtureHolder(FixtureSet.Load(StorageBenchData.FixturesDirectory()));
        var bodies = fixtures.Set.Bodies;
        var space = new SeriesSpace(200, 5, bodies.Count);
        var metadata = new IngestMetadata[space.Services * space.Pods * bodies.Count];
        for (var s = 0; s < space.Services; s++)
        {
            for (var p = 0; p < space.Pods; p++)
            {
                for (var b = 0; b < bodies.Count; b++)
                {
                    var query = System.Web.HttpUtility.ParseQueryString($"name={SeriesSpace.IngestName(s, p)}&format=pprof&spyName={bodies[b].SpyName}");
                    metadata[(s * space.Pods + p) * bodies.Count + b] = IngestMetadata.Parse(key => query[key], Now);
                }
            }
        }

        var before = Heap();
        var head = new TenantHead("bench", Ulid.NewUlid());
        var step = Math.Max(1, pushes / 10);
        Console.WriteLine($"| pushes | profiles (series) | samples | estimated MB | heap after full GC − before, MB | heap ÷ estimate | bytes / profile |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        for (var i = 0; i < pushes; i++)
        {
            var (service, pod, profile) = space.At(i);
            var body = bodies[profile];
            using (var push = Normalised(metadata[(service * space.Pods + pod) * bodies.Count + profile], body.Gzipped))
            {
                head.Append(Pyroscope.Ingester.IngesterEngine.SeriesOf(push), Now / 1_000_000);
            }
            if ((i + 1) % step == 0)
            {
                var heap = Heap() - before;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {i + 1} | {head.ProfileCount} | {head.Tables.Samples.Count} | {head.EstimatedBytes / 1e6:F1} | {heap / 1e6:F1} | {(double)heap / head.EstimatedBytes:F2} | {heap / head.ProfileCount} |"));
            }
        }
        var beforeEncode = Heap();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var block = head.EncodeBlock();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"block encode: {watch.Elapsed.TotalSeconds:F1} s, {(GC.GetTotalAllocatedBytes(precise: true) - allocated) / 1e6:F0} MB allocated, heap while holding head and block +{(Heap() - beforeEncode) / 1e6:F0} MB, {(block.Index.Length + (long)block.Symbols.Length + block.Samples.Length) / 1e6:F1} MB encoded"));
        GC.KeepAlive(head);
    }

    /// <summary><c>head-memory ebpf [pushes]</c>: the 4 MB eBPF-style profile appended again and again; time per push by stage.</summary>
    private static void AppendLarge(int pushes)
    {
        var (gzipped, metadata) = Ingest.WritePathStageBenchmarks.Load("ebpf-4MB");
        var head = new TenantHead("bench", Ulid.NewUlid());
        double normalise = 0, append = 0;
        for (var i = 0; i < pushes; i++)
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            using var push = Normalised(metadata, gzipped);
            var normalised = watch.Elapsed.TotalMilliseconds;
            head.Append(Pyroscope.Ingester.IngesterEngine.SeriesOf(push), Now / 1_000_000);
            var appended = watch.Elapsed.TotalMilliseconds - normalised;
            if (i >= pushes / 4)
            {
                normalise += normalised;
                append += appended;
            }
        }
        var measured = pushes - pushes / 4;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"eBPF 4 MB profile, {measured} pushes measured: read + normalise {normalise / measured:F1} ms, head append {append / measured:F1} ms per push; head {head.EstimatedBytes / 1e6:F0} MB, {head.Tables.Symbols.NodeCount} stack nodes"));
    }

    private static long Heap()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    /// <summary>Decoded and normalised as the distributor does it.</summary>
    private static IngestPush Normalised(IngestMetadata metadata, byte[] gzipped) => Ingest.WritePathStageBenchmarks.ReceivedPush(metadata, gzipped);

    private sealed class FixtureHolder(Pyroscope.LoadTest.Workload.FixtureSet set) : IDisposable
    {
        public Pyroscope.LoadTest.Workload.FixtureSet Set { get; } = set;

        public void Dispose() => Set.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
