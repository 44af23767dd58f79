using TypesV1 = Pyroscope.Contracts.Types.V1;

namespace Pyroscope.Model.Query;

/// <summary>
/// Turns per-profile totals into time series as upstream's RangeSeries does: points on
/// <c>start + k·step</c>; a profile at time t lands on the first step ≥ t; profiles after the last
/// step are dropped. Series are grouped by the <c>group_by</c> labels (none: one series).
/// With <c>exemplars</c> each point carries the highest-valued of the exemplar totals that land on it (upstream keeps
/// one per point), labelled with its series' labels other than the <c>group_by</c> ones.
/// </summary>
public static class SeriesAggregator
{
    /// <summary>Exemplars per point, as upstream's DefaultMaxExemplarsPerPoint.</summary>
    public const int MaxExemplarsPerPoint = 1;

    public static List<TypesV1.Series> Aggregate(
        IReadOnlyList<ProfileTotal> totals,
        long startMs,
        long endMs,
        long stepMs,
        IReadOnlyList<string> groupBy,
        TypesV1.TimeSeriesAggregationType aggregation,
        long? limit,
        IReadOnlyList<ProfileTotal>? exemplars = null)
    {
        if (stepMs <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(stepMs), "step must be positive");
        }
        var groups = new Dictionary<ulong, Group>();
        var keyCache = new Dictionary<ulong, (ulong Key, LabelSet Labels)>();
        var lastStep = startMs + (endMs - startMs) / stepMs * stepMs;
        foreach (var t in totals)
        {
            if (t.TimestampMs > lastStep)
            {
                continue;
            }
            var step = t.TimestampMs <= startMs ? startMs : startMs + CeilDiv(t.TimestampMs - startMs, stepMs) * stepMs;
            if (!keyCache.TryGetValue(t.Series.Fingerprint, out var k))
            {
                var labels = Project(t.Series, groupBy);
                k = (labels.Fingerprint, labels);
                keyCache.Add(t.Series.Fingerprint, k);
            }
            if (!groups.TryGetValue(k.Key, out var g))
            {
                g = new Group(k.Labels);
                groups.Add(k.Key, g);
            }
            ref var bucket = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(g.Buckets, step, out _);
            bucket.Sum = Saturating.Add(bucket.Sum, t.Value);
            bucket.Count++;
            g.Total = Saturating.Add(g.Total, t.Value);
        }
        if (exemplars is not null)
        {
            foreach (var e in exemplars)
            {
                if (e.TimestampMs > lastStep || (e.ProfileId.Length == 0 && e.SpanId == 0 && e.TraceId == 0))
                {
                    continue;
                }
                var step = e.TimestampMs <= startMs ? startMs : startMs + CeilDiv(e.TimestampMs - startMs, stepMs) * stepMs;
                if (groups.TryGetValue(e.Series.Keep(groupBy).Fingerprint, out var g) && g.Buckets.ContainsKey(step)
                    && (!g.Best.TryGetValue(step, out var best) || e.Value > best.Value))
                {
                    g.Best[step] = e;
                }
            }
        }

        var ordered = new List<Group>(groups.Values);
        if (limit is > 0 && ordered.Count > limit)
        {
            // Top N by total value; ties keep label order for a stable answer.
            ordered.Sort(static (a, b) =>
            {
                var c = b.Total.CompareTo(a.Total);
                return c != 0 ? c : CompareLabels(a.Labels, b.Labels);
            });
            ordered.RemoveRange((int)limit.Value, ordered.Count - (int)limit.Value);
        }
        ordered.Sort(static (a, b) => CompareLabels(a.Labels, b.Labels));

        var result = new List<TypesV1.Series>(ordered.Count);
        foreach (var g in ordered)
        {
            var series = new TypesV1.Series();
            foreach (var l in g.Labels.Labels)
            {
                series.Labels.Add(new TypesV1.LabelPair { Name = l.Name, Value = l.Value });
            }
            var steps = new long[g.Buckets.Count];
            g.Buckets.Keys.CopyTo(steps, 0);
            Array.Sort(steps);
            foreach (var s in steps)
            {
                var b = g.Buckets[s];
                var value = aggregation == TypesV1.TimeSeriesAggregationType.Average ? (double)b.Sum / b.Count : b.Sum;
                var point = new TypesV1.Point { Timestamp = s, Value = value };
                if (g.Best.TryGetValue(s, out var e))
                {
                    point.Exemplars.Add(HeatmapBuilder.ToExemplar(new HeatmapBuilder.Point(e.Series.Drop(groupBy), e.TimestampMs, e.Value, e.ProfileId, e.SpanId, e.TraceId)));
                }
                series.Points.Add(point);
            }
            result.Add(series);
        }
        return result;
    }

    private static long CeilDiv(long a, long b) => a / b + (a % b != 0 ? 1 : 0);

    private static LabelSet Project(LabelSet labels, IReadOnlyList<string> groupBy)
    {
        if (groupBy.Count == 0)
        {
            return LabelSet.Empty;
        }
        var kept = new List<Label>(groupBy.Count);
        foreach (var name in groupBy)
        {
            var v = labels.Get(name);
            if (v is not null)
            {
                kept.Add(new Label(name, v));
            }
        }
        return LabelSet.From(kept);
    }

    private static int CompareLabels(LabelSet a, LabelSet b)
    {
        var n = Math.Min(a.Count, b.Count);
        for (var i = 0; i < n; i++)
        {
            var c = string.CompareOrdinal(a[i].Name, b[i].Name);
            if (c != 0) return c;
            c = string.CompareOrdinal(a[i].Value, b[i].Value);
            if (c != 0) return c;
        }
        return a.Count.CompareTo(b.Count);
    }

    private struct Bucket
    {
        public long Sum;
        public long Count;
    }

    private sealed class Group(LabelSet labels)
    {
        public LabelSet Labels { get; } = labels;
        public Dictionary<long, Bucket> Buckets { get; } = [];
        public Dictionary<long, ProfileTotal> Best { get; } = [];
        public long Total { get; set; }
    }
}

/// <summary>The legacy render timeline (upstream pkg/querier/timeline).</summary>
public static class TimelineBuilder
{
    private const long Resolution = 1500;
    private const long MinStepMs = 15_000;

    /// <summary>The step, in seconds, for a range: (until−from)/1500 rounded to a "nice" interval, at least 15 s.</summary>
    public static double StepSeconds(long fromMs, long untilMs)
    {
        var interval = (untilMs - fromMs) / Resolution;
        if (interval < MinStepMs)
        {
            return MinStepMs / 1000.0;
        }
        return Round(interval) / 1000.0;
    }

    // (upper bound, rounded step) pairs in ms, as Grafana's interval rounding.
    private static readonly (long Max, long Step)[] s_rounding =
    [
        (10, 1), (15, 10), (35, 20), (75, 50), (150, 100), (350, 200), (750, 500), (1500, 1000),
        (3500, 2000), (7500, 5000), (12500, 10000), (17500, 15000), (25000, 20000), (45000, 30000),
        (90000, 60000), (210000, 120000), (450000, 300000), (750000, 600000), (1050000, 900000),
        (1500000, 1200000), (2700000, 1800000), (5400000, 3600000), (9000000, 7200000),
        (16200000, 10800000), (32400000, 21600000), (86400000, 43200000), (172800000, 86400000),
        (604800000, 86400000), (1814400000, 604800000),
    ];

    private static long Round(long intervalMs)
    {
        foreach (var (max, step) in s_rounding)
        {
            if (intervalMs <= max)
            {
                return step;
            }
        }
        return intervalMs < 3628800000 ? 2592000000 : 31536000000;
    }

    /// <summary>Fills one value per step over [from, until), zeros where the series has no point.</summary>
    public static Timeline Build(TypesV1.Series? series, long fromMs, long untilMs, long stepSeconds)
    {
        var startSec = fromMs / 1000;
        if (fromMs >= untilMs || stepSeconds <= 0)
        {
            return new Timeline(startSec, stepSeconds, []);
        }
        var size = (untilMs / 1000 - startSec) / stepSeconds;
        var samples = new ulong[Math.Max(0, size)];
        if (series is not null)
        {
            foreach (var p in series.Points)
            {
                if (p.Timestamp < fromMs || p.Timestamp >= untilMs)
                {
                    continue;
                }
                var index = (p.Timestamp / 1000 - startSec) / stepSeconds;
                if (index >= 0 && index < samples.Length)
                {
                    samples[index] = (ulong)Math.Max(0, p.Value);
                }
            }
        }
        return new Timeline(startSec, stepSeconds, samples);
    }
}
