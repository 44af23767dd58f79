using System.IO.Compression;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Pyroscope.Formats.Jfr;
using Pyroscope.Testing;

namespace Pyroscope.Benchmarks.Jfr;

/// <summary>JFR → pprof conversion of real recordings; the Throughput column is input bytes per second.</summary>
[MemoryDiagnoser]
[Config(typeof(ThroughputConfig))]
public class JfrConvertBenchmarks
{
    private byte[] _jdk = [];
    private byte[] _asyncProfiler = [];
    private byte[] _labels = [];

    [GlobalSetup]
    public void Setup()
    {
        _jdk = File.ReadAllBytes(RepositoryPaths.Fixture("jfr/jdk17-cpu-alloc.jfr"));
        _asyncProfiler = Gunzip(RepositoryPaths.Fixture("upstream/og_convert_jfr__dump1.jfr.gz"));
        _labels = Gunzip(RepositoryPaths.Fixture("upstream/og_convert_jfr__dump1.labels.pb.gz"));
    }

    /// <summary>280 KB JDK 17 recording: 346 execution samples, 474 allocation samples, 42 checkpoints.</summary>
    [Benchmark]
    public int Jdk17CpuAlloc() => JfrConverter.Convert(_jdk, [], new JfrConvertOptions()).Count;

    /// <summary>async-profiler itimer recording (2188 samples) with a labels snapshot.</summary>
    [Benchmark]
    public int AsyncProfilerWithLabels() => JfrConverter.Convert(_asyncProfiler, _labels, new JfrConvertOptions()).Count;

    internal static readonly Dictionary<string, long> InputBytes = new()
    {
        [nameof(Jdk17CpuAlloc)] = new FileInfo(RepositoryPaths.Fixture("jfr/jdk17-cpu-alloc.jfr")).Length,
        [nameof(AsyncProfilerWithLabels)] = Gunzip(RepositoryPaths.Fixture("upstream/og_convert_jfr__dump1.jfr.gz")).Length,
    };

    private static byte[] Gunzip(string path)
    {
        using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var output = new MemoryStream();
        gzip.CopyTo(output);
        return output.ToArray();
    }

    private sealed class ThroughputConfig : ManualConfig
    {
        public ThroughputConfig() => AddColumn(new ThroughputColumn());
    }

    private sealed class ThroughputColumn : IColumn
    {
        public string Id => "Throughput";
        public string ColumnName => "Throughput";
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => "Input megabytes converted per second";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
        {
            var stats = summary[benchmarkCase]?.ResultStatistics;
            if (stats is null || !InputBytes.TryGetValue(benchmarkCase.Descriptor.WorkloadMethod.Name, out var bytes))
            {
                return "-";
            }
            return $"{bytes / (stats.Mean / 1e9) / 1e6:F1} MB/s";
        }

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);
        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        public bool IsAvailable(Summary summary) => true;
    }
}
