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
/// gunzip (all a null server does: the baseline) → the one-pass read → normalise into series sharing the symbols →
/// the WAL record of the received bytes; and, for comparison, the former path: the protobuf object model, series as
/// messages, the WAL record re-serialising them. <see cref="IngesterPushBenchmarks"/> has the ingester's whole part.
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
        _received = ReceivedPush(_metadata, _gzipped);
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

    /// <summary>The write path's reader: gunzip + one pass into pooled columns (no object per sample or symbol).</summary>
    [Benchmark]
    public int Read()
    {
        using var profile = PprofReader.Read(_gzipped, long.MaxValue, "bench", out _);
        return profile.Samples.Count;
    }

    /// <summary>The write path's decode + normalise as the distributor runs it: series share the profile's symbols.</summary>
    [Benchmark]
    public int ReadAndNormalise()
    {
        using var push = ReceivedPush(_metadata, _gzipped);
        return push.SeriesCount;
    }

    /// <summary>The WAL record the ingester writes per push now: the received bytes, labels and push context.</summary>
    [Benchmark]
    public int WalRecordEncodeReceived() => Pyroscope.Ingester.Client.WalRecordCodec.Encode("bench", _received!).Length;

    private Pyroscope.Model.Ingest.IngestPush? _received;

    [GlobalCleanup]
    public void Cleanup() => _received?.Dispose();

    /// <summary>Decoded and normalised as <c>Distributor.PushAsync</c> does (the received bytes stay the caller's).</summary>
    internal static Pyroscope.Model.Ingest.IngestPush ReceivedPush(IngestMetadata metadata, byte[] gzipped)
    {
        var context = new Pyroscope.Model.Ingest.PushContext(Now, metadata.FromNanos, 0, 0, ProfileNormalizer.NewIdSeed());
        var profiles = new List<Pyroscope.Model.Ingest.PushedProfile>();
        var push = new Pyroscope.Model.Ingest.IngestPush(context, profiles);
        var series = 0;
        foreach (var profile in IngestFormatRegistry.BuiltIn.Decode(metadata, null, gzipped, long.MaxValue))
        {
            var parsed = profile.TakeParsed();
            var normalized = ProfileNormalizer.Normalize(parsed, profile.Labels, TenantLimits.Unlimited,
                new NormalizeContext(Now, metadata.FromNanos, profile.DecompressedSize) { SeriesSoFar = series, IdSeed = context.IdSeed });
            profiles.Add(new Pyroscope.Model.Ingest.PushedProfile(profile.Labels, profile.Received.IsEmpty ? parsed.Bytes : profile.Received, profile.Fixups, normalized));
            series += normalized.Series.Count;
        }
        return push;
    }

    /// <summary>What <c>IngesterEngine.EncodeRecord</c> did per push before: re-serialise the normalised series, zstd level 1.</summary>
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
/// The ingester's whole part of one push normalised in the same process (series admission, WAL record of the received
/// bytes, head append interning the push's symbols once, WAL write with fsync off) into a fresh engine per iteration; one op = one profile.
/// </summary>
[MemoryDiagnoser]
[InvocationCount(1)]
public class IngesterPushBenchmarks
{
    private const int PushesPerInvoke = 16;

    private Pyroscope.Model.Ingest.IngestPush[] _pushes = [];
    private IngesterEngine? _engine;
    private string _dataPath = "";

    [Params("go-cpu", "ebpf-4MB")]
    public string Profile { get; set; } = "go-cpu";

    [GlobalSetup]
    public void Setup()
    {
        var (gzipped, metadata) = WritePathStageBenchmarks.Load(Profile);
        _pushes = new Pyroscope.Model.Ingest.IngestPush[PushesPerInvoke];
        for (var i = 0; i < _pushes.Length; i++)
        {
            // Fresh profile ids (a random seed each): the head refuses a profile id it already holds (a replica or a retry).
            _pushes[i] = WritePathStageBenchmarks.ReceivedPush(metadata, gzipped);
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
