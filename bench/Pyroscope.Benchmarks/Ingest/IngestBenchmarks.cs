using BenchmarkDotNet.Attributes;
using Pyroscope.Formats.Ingest;
using Pyroscope.Formats.Normalization;
using Pyroscope.Model;
using Pyroscope.Testing;

namespace Pyroscope.Benchmarks.Ingest;

/// <summary>
/// /ingest parse + normalise per format, on real agent payloads: decode (gunzip, protobuf or text) and split
/// into one series per sample type, as the distributor does for each request.
/// </summary>
[MemoryDiagnoser]
public class IngestBenchmarks
{
    private const long Now = 1_800_000_000_000_000_000;

    private byte[] _goCpu = [];
    private byte[] _folded = [];
    private byte[] _nodeWall = [];
    private IngestMetadata _pprofMetadata = null!;
    private IngestMetadata _foldedMetadata = null!;
    private IngestMetadata _nodeMetadata = null!;

    [GlobalSetup]
    public void Setup()
    {
        var fixtures = RepositoryPaths.Fixtures;
        _goCpu = File.ReadAllBytes(Path.Combine(fixtures, "go", "go-cpu.pb.gz"));
        _folded = File.ReadAllBytes(Path.Combine(fixtures, "folded", "go-cpu-nanoseconds.folded"));
        _nodeWall = File.ReadAllBytes(Path.Combine(fixtures, "nodejs", "nodejs-001.pb.gz"));
        _pprofMetadata = Metadata("name=goapp{env=prod}&format=pprof&spyName=gospy");
        _foldedMetadata = Metadata("name=goapp.cpu{env=prod}&from=1700000000&until=1700000010");
        _nodeMetadata = Metadata("name=probe{env=test,region=local}&format=pprof&spyName=nodespy&from=1795611916&until=1795611921");
    }

    [Benchmark]
    public int GoCpuPprof() => Run(_pprofMetadata, _goCpu);

    /// <summary>Decode only (gunzip + protobuf), to separate parsing cost from normalisation.</summary>
    [Benchmark]
    public int GoCpuPprofDecodeOnly() => IngestFormatRegistry.BuiltIn.Decode(_pprofMetadata, null, _goCpu).Count;

    [Benchmark]
    public int Folded() => Run(_foldedMetadata, _folded);

    [Benchmark]
    public int NodejsWallPprof() => Run(_nodeMetadata, _nodeWall);

    private int Run(IngestMetadata metadata, byte[] body)
    {
        var count = 0;
        foreach (var profile in IngestFormatRegistry.BuiltIn.Decode(metadata, null, body))
        {
            count += ProfileNormalizer.Normalize(profile.Profile, profile.Labels, TenantLimits.Unlimited,
                new NormalizeContext(Now, metadata.FromNanos, profile.DecompressedSize)).Count;
        }
        return count;
    }

    private static IngestMetadata Metadata(string query)
    {
        var parsed = System.Web.HttpUtility.ParseQueryString(query);
        return IngestMetadata.Parse(name => parsed[name], Now);
    }
}
