using BenchmarkDotNet.Attributes;
using Pyroscope.Model;
using Pyroscope.Ingester;

namespace Pyroscope.Benchmarks.Storage;

/// <summary>
/// The series-limit admission a push pays before it is stored: a tenant with 5000 active series (the default
/// limit), one push of two series (a typical pprof push: two sample types). Compare with
/// <see cref="HeadAppendBenchmarks"/> (one profile's head append).
/// </summary>
[MemoryDiagnoser]
public class SeriesLimitBenchmarks
{
    private const int Active = 5000;
    private ActiveSeries _tracker = null!;
    private LabelSet[] _known = [];
    private LabelSet[] _fresh = [];
    private readonly ISeriesLimits _limits = new Fixed(new SeriesLimit(0, 10_000, 1, 1));
    private long _now = 1;

    [GlobalSetup]
    public void Setup()
    {
        _tracker = new ActiveSeries();
        var all = new LabelSet[Active];
        for (var i = 0; i < Active; i++)
        {
            all[i] = LabelSet.From(new Label(LabelNames.ServiceName, "svc-" + i), new Label(LabelNames.MetricName, "process_cpu"));
        }
        _tracker.Track(all, 1);
        _known = [all[17], all[4242]];
        _fresh = [LabelSet.From(new Label(LabelNames.ServiceName, "new"), new Label(LabelNames.MetricName, "process_cpu"))];
    }

    [Benchmark(Description = "admit push of 2 active series (5000 active)")]
    public bool AdmitKnown() => _tracker.TryAdmit(_known, ++_now, _limits, "bench") is null;

    [Benchmark(Description = "refuse push of 1 new series at the limit (5000/5000)")]
    public bool RefuseNew() => _tracker.TryAdmit(_fresh, ++_now, new Fixed(new SeriesLimit(0, Active, 1, 1)), "bench") is null;

    private sealed class Fixed(SeriesLimit limit) : ISeriesLimits
    {
        public SeriesLimit For(string tenantId) => limit;
    }
}
