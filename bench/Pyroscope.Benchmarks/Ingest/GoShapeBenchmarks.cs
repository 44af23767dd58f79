using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Pyroscope.Contracts.Google.V1;
using Pyroscope.Formats.Normalization;
using Pyroscope.Model;
using Label = Pyroscope.Model.Label;
using Pyroscope.Testing;

namespace Pyroscope.Benchmarks.Ingest;

/// <summary>
/// Normalising the real Go CPU profile as sent by gospy: unchanged (baseline: the fix-up only scans the string
/// table) and with every function name carrying a generic shape, so every name is rewritten and every
/// function and location goes through the merge.
/// </summary>
[MemoryDiagnoser]
public class GoShapeBenchmarks
{
    private byte[] _plain = [];
    private byte[] _shaped = [];
    private static readonly Label[] Labels = [new(LabelNames.MetricName, "process_cpu"), new(LabelNames.ServiceName, "goapp"), new(LabelNames.Spy, "gospy")];

    [GlobalSetup]
    public void Setup()
    {
        var path = RepositoryPaths.Fixture("go/go-cpu.pb.gz");
        var profile = Pyroscope.Formats.Pprof.PprofDecoder.Decode(File.ReadAllBytes(path));
        _plain = profile.ToByteArray();
        foreach (var function in profile.Function)
        {
            profile.StringTable.Add(profile.StringTable[(int)function.Name] + "[go.shape.int]");
            function.Name = profile.StringTable.Count - 1;
        }
        _shaped = profile.ToByteArray();
    }

    [Benchmark(Baseline = true)]
    public int Plain() => Normalize(_plain);

    [Benchmark]
    public int WithShapes() => Normalize(_shaped);

    // Parsing is part of both so each run starts from a fresh, unmodified profile.
    private static int Normalize(byte[] bytes) =>
        ProfileNormalizer.Normalize(Profile.Parser.ParseFrom(bytes), Labels, TenantLimits.Unlimited, new NormalizeContext(1, 1, bytes.Length)).Count;
}
