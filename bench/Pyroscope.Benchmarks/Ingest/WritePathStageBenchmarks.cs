using System.IO.Compression;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Formats.Ingest;
using Pyroscope.Formats.Normalization;
using Pyroscope.Formats.Pprof;
using Pyroscope.LoadTest.Workload;
using Pyroscope.Ingester;
using Pyroscope.Model;
using Pyroscope.Storage;

namespace Pyroscope.Benchmarks.Ingest;

/// <summary>
/// The write path of one pushed profile, stage by stage, as the monolith runs it for <c>POST /ingest</c>:
/// gunzip (all a null server does: the baseline) → decode into the protobuf object model → normalise into series →
/// the WAL record (re-serialise + zstd); <see cref="IngesterPushBenchmarks"/> has the ingester's whole part.
/// One op = one profile; the allocated bytes per op are the allocations per pushed profile of each stage. Profiles:
/// the real Go CPU fixture (7.9 KB gz, 737 samples) and the load test's 4 MB eBPF-style profile (15 000 samples).
/// </summary>
[MemoryDiagnoser]
public class WritePathStageBenchmarks
{
    internal const long Now = 1_800_000_000_000_000_000;

    private byte[] _gzipped = [];
    private IngestMetadata _metadata = null!;
    private PushRequest _push = null!;
    // The engine keeps one per thread (t_walCompressor): its context is not part of a push's cost.
    private readonly ZstdSharp.Compressor _compressor = new(1);

    [Params("go-cpu", "ebpf-4MB")]
    public string Profile { get; set; } = "go-cpu";

    [GlobalSetup]
    public void Setup()
    {
        (_gzipped, _metadata) = Load(Profile);
        _push = NormalisedPush();
    }

    internal static (byte[] Gzipped, IngestMetadata Metadata) Load(string name)
    {
        byte[] gzipped;
        if (name == "go-cpu")
        {
            gzipped = File.ReadAllBytes(Path.Combine(Storage.StorageBenchData.FixturesDirectory(), "go", "go-cpu.pb.gz"));
        }
        else
        {
            var profile = EbpfProfileGenerator.Generate(new EbpfProfileGenerator.Shape(), Now);
            using var output = new MemoryStream();
            using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
            {
                gzip.Write(profile.ToByteArray());
            }
            gzipped = output.ToArray();
        }
        var query = System.Web.HttpUtility.ParseQueryString("name=bench-svc{pod=pod-1,namespace=ns-1}&format=pprof&spyName=gospy");
        return (gzipped, IngestMetadata.Parse(key => query[key], Now));
    }

    /// <summary>What a null server does with the body: the least any ingest path must spend.</summary>
    [Benchmark(Baseline = true)]
    public long Gunzip()
    {
        using var gzip = new GZipStream(new MemoryStream(_gzipped), CompressionMode.Decompress);
        var scratch = new byte[64 * 1024];
        long total = 0;
        int read;
        while ((read = gzip.Read(scratch)) > 0)
        {
            total += read;
        }
        return total;
    }

    /// <summary>gunzip + <c>Profile.Parser.ParseFrom</c>: the object model of every sample, location, function.</summary>
    [Benchmark]
    public int Decode() => PprofDecoder.Decode(_gzipped).Sample.Count;

    /// <summary>Decode, then split into one series per sample type and sample-label group (the distributor's work).</summary>
    [Benchmark]
    public int DecodeAndNormalise() => NormalisedPush().Series.Count;

    /// <summary>What <c>IngesterEngine.EncodeRecord</c> does per push: re-serialise the normalised series, zstd level 1.</summary>
    [Benchmark]
    public int WalRecordEncode()
    {
        var raw = _push.ToByteArray();
        return _compressor.Wrap(raw).Length;
    }

    private PushRequest NormalisedPush() => NormalisedPush(_metadata, _gzipped);

    internal static PushRequest NormalisedPush(IngestMetadata metadata, byte[] gzipped)
    {
        var request = new PushRequest();
        foreach (var profile in IngestFormatRegistry.BuiltIn.Decode(metadata, null, gzipped, long.MaxValue))
        {
            request.Series.AddRange(ProfileNormalizer.Normalize(profile.Profile, profile.Labels, TenantLimits.Unlimited,
                new NormalizeContext(Now, metadata.FromNanos, profile.DecompressedSize)));
        }
        return request;
    }
}

/// <summary>
/// The ingester's whole part of one push (labels, series admission, WAL record = re-serialise + zstd, head append,
/// WAL write with fsync off) into a fresh engine per iteration; one op = one profile.
/// </summary>
[MemoryDiagnoser]
[InvocationCount(1)]
public class IngesterPushBenchmarks
{
    private const int PushesPerInvoke = 16;

    private PushRequest[] _pushes = [];
    private IngesterEngine? _engine;
    private string _dataPath = "";

    [Params("go-cpu", "ebpf-4MB")]
    public string Profile { get; set; } = "go-cpu";

    [GlobalSetup]
    public void Setup()
    {
        var (gzipped, metadata) = WritePathStageBenchmarks.Load(Profile);
        _pushes = new PushRequest[PushesPerInvoke];
        for (var i = 0; i < _pushes.Length; i++)
        {
            // Fresh profile ids: the head refuses a profile id it already holds (a replica or a retry).
            _pushes[i] = WritePathStageBenchmarks.NormalisedPush(metadata, gzipped);
        }
    }

    [IterationSetup]
    public void OpenEngine()
    {
        _dataPath = Directory.CreateTempSubdirectory("pyroscope-bench-ingester-").FullName;
        _engine = new IngesterEngine(new PyroscopeDbOptions { DataPath = _dataPath, WalFsync = false }, options: null, remote: null);
        _engine.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
    }

    [IterationCleanup]
    public void CloseEngine()
    {
        _engine!.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Directory.Delete(_dataPath, recursive: true);
    }

    [Benchmark(OperationsPerInvoke = PushesPerInvoke)]
    public void IngesterPush()
    {
        foreach (var push in _pushes)
        {
            _engine!.PushAsync("bench", push, CancellationToken.None).GetAwaiter().GetResult();
        }
    }
}
