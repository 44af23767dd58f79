using TypesV1 = Pyroscope.Contracts.Types.V1;

namespace Pyroscope.Model.Query;

/// <summary>
/// Buckets individual profiles (or spans) by time and value, as upstream's SelectHeatmap does
/// (pkg/model/heatmap, RangeHeatmap):
/// <list type="bullet">
/// <item>points are grouped into series by the <c>group_by</c> labels; within a series, points with the same
/// timestamp, profile id, span id and trace id are one point (values summed, labels intersected). Span points carry
/// no profile id, so the spans of several profiles taken at one instant add up; points with neither a profile id nor
/// a span id are left out;</item>
/// <item>slots are right-closed: a point at t lands in the slot whose timestamp is the first
/// <c>start + k·step ≥ t</c> (points before <c>start</c> in the first slot, after the last one in the last);</item>
/// <item>20 value buckets share one range over all series: the lowest to the highest point value
/// (highest = lowest + 1 when they are equal), bucket i starting at <c>min + ⌊i·(max−min)/20⌋</c>;
/// the last bucket includes the highest value;</item>
/// <item>each non-empty cell's exemplar (when asked for) is its highest-valued point.</item>
/// </list>
/// </summary>
public static class HeatmapBuilder
{
    public const int ValueBuckets = 20;

    /// <summary>One individual profile, or one span of one, as the heatmap counts it.</summary>
    public readonly record struct Point(LabelSet Series, long TimestampMs, long Value, string ProfileId, ulong SpanId, UInt128 TraceId);

    public static List<TypesV1.HeatmapSeries> Build(
        IEnumerable<Point> points, long startMs, long endMs, long stepMs, IReadOnlyList<string> groupBy, bool exemplars, long? limit)
    {
        if (stepMs <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(stepMs), "step must be positive");
        }
        var groups = Group(points, groupBy);
        long min = long.MaxValue, max = 0;
        foreach (var group in groups)
        {
            foreach (var p in group.Points.Values)
            {
                min = Math.Min(min, p.Value);
                max = Math.Max(max, p.Value);
            }
        }
        if (min == long.MaxValue)
        {
            return [];
        }
        if (min == max)
        {
            max = min + 1;
        }
        var bucketMins = BucketMins(min, max);
        var result = new List<TypesV1.HeatmapSeries>(groups.Count);
        foreach (var group in groups)
        {
            result.Add(Slots(group, bucketMins, startMs, endMs, stepMs, exemplars));
        }
        return limit is > 0 && result.Count > limit ? Top(result, (int)limit.Value) : result;
    }

    private static List<SeriesPoints> Group(IEnumerable<Point> points, IReadOnlyList<string> groupBy)
    {
        var byLabels = new Dictionary<LabelSet, SeriesPoints>();
        foreach (var p in points)
        {
            if (p.ProfileId.Length == 0 && p.SpanId == 0)
            {
                continue;
            }
            var seriesLabels = p.Series.Keep(groupBy);
            if (!byLabels.TryGetValue(seriesLabels, out var group))
            {
                group = new SeriesPoints(seriesLabels);
                byLabels.Add(seriesLabels, group);
            }
            var key = (p.TimestampMs, p.ProfileId, p.SpanId, p.TraceId);
            var labels = p.Series.Drop(groupBy);
            if (group.Points.TryGetValue(key, out var existing))
            {
                group.Points[key] = existing with { Value = Saturating.Add(existing.Value, p.Value), Series = existing.Series.Intersect(labels) };
            }
            else
            {
                group.Points.Add(key, p with { Series = labels });
            }
        }
        var ordered = new List<SeriesPoints>(byLabels.Values);
        ordered.Sort(static (a, b) => CompareLabels(a.Labels, b.Labels));
        return ordered;
    }

    private static long[] BucketMins(long min, long max)
    {
        var size = (double)(max - min) / ValueBuckets;
        var mins = new long[ValueBuckets + 1];
        for (var i = 0; i < ValueBuckets; i++)
        {
            mins[i] = min + (long)(i * size);
        }
        // The upper bound of the last bucket, which includes it.
        mins[ValueBuckets] = max;
        return mins;
    }

    /// <summary>The bucket of a value: the first whose [min, next min) holds it; the last from its min on.</summary>
    private static int BucketOf(long value, long[] mins)
    {
        for (var i = 0; i < ValueBuckets; i++)
        {
            if (value >= mins[i] && value < mins[i + 1])
            {
                return i;
            }
        }
        return value >= mins[ValueBuckets - 1] ? ValueBuckets - 1 : -1;
    }

    private static TypesV1.HeatmapSeries Slots(SeriesPoints group, long[] bucketMins, long startMs, long endMs, long stepMs, bool exemplars)
    {
        var counts = new Dictionary<(long Slot, int Bucket), int>();
        var best = new Dictionary<(long Slot, int Bucket), Point>();
        var lastSlot = RoundUp(endMs, startMs, stepMs);
        foreach (var p in group.Points.Values)
        {
            var bucket = BucketOf(p.Value, bucketMins);
            if (bucket < 0)
            {
                continue;
            }
            var cell = (Math.Clamp(RoundUp(p.TimestampMs, startMs, stepMs), startMs, Math.Max(startMs, lastSlot)), bucket);
            counts[cell] = counts.GetValueOrDefault(cell) + 1;
            if (exemplars && (!best.TryGetValue(cell, out var b) || p.Value > b.Value))
            {
                best[cell] = p;
            }
        }
        var slots = new SortedDictionary<long, TypesV1.HeatmapSlot>();
        foreach (var ((slotTime, _), _) in counts)
        {
            if (!slots.ContainsKey(slotTime))
            {
                var slot = new TypesV1.HeatmapSlot { Timestamp = slotTime };
                for (var i = 0; i < ValueBuckets; i++)
                {
                    slot.YMin.Add(bucketMins[i]);
                    slot.Counts.Add(0);
                }
                slots.Add(slotTime, slot);
            }
        }
        var series = new TypesV1.HeatmapSeries();
        AddLabels(series.Labels, group.Labels);
        foreach (var (slotTime, slot) in slots)
        {
            for (var bucket = 0; bucket < ValueBuckets; bucket++)
            {
                if (!counts.TryGetValue((slotTime, bucket), out var count))
                {
                    continue;
                }
                slot.Counts[bucket] = count;
                if (exemplars && best.TryGetValue((slotTime, bucket), out var p))
                {
                    slot.Exemplars.Add(ToExemplar(p));
                }
            }
            series.Slots.Add(slot);
        }
        return series;
    }

    public static TypesV1.Exemplar ToExemplar(Point p)
    {
        var exemplar = new TypesV1.Exemplar
        {
            Timestamp = p.TimestampMs,
            ProfileId = p.ProfileId,
            SpanId = TraceContextIds.FormatSpanId(p.SpanId),
            TraceId = TraceContextIds.FormatTraceId(p.TraceId),
            Value = p.Value,
        };
        AddLabels(exemplar.Labels, p.Series);
        return exemplar;
    }

    /// <summary>
    /// The right edge of the slot holding <paramref name="timestampMs"/>: the first <c>start + k·step</c> at or after
    /// it, on the grid that <paramref name="startMs"/> lies on.
    /// </summary>
    private static long RoundUp(long timestampMs, long startMs, long stepMs)
    {
        var offset = startMs % stepMs;
        var t = timestampMs - offset;
        var rem = t % stepMs;
        if (rem != 0)
        {
            t += rem > 0 ? stepMs - rem : -rem;
        }
        return t + offset;
    }

    /// <summary>The <paramref name="k"/> series with the most points (ties by labels), in that order, as upstream's TopSeries.</summary>
    private static List<TypesV1.HeatmapSeries> Top(List<TypesV1.HeatmapSeries> all, int k)
    {
        var ranked = new List<(TypesV1.HeatmapSeries Series, long Sum)>(all.Count);
        foreach (var s in all)
        {
            long sum = 0;
            foreach (var slot in s.Slots)
            {
                foreach (var c in slot.Counts)
                {
                    sum += c;
                }
            }
            ranked.Add((s, sum));
        }
        ranked.Sort(static (a, b) =>
        {
            var c = b.Sum.CompareTo(a.Sum);
            return c != 0 ? c : ComparePairs(a.Series.Labels, b.Series.Labels);
        });
        var top = new List<TypesV1.HeatmapSeries>(k);
        for (var i = 0; i < k; i++)
        {
            top.Add(ranked[i].Series);
        }
        return top;
    }

    private static void AddLabels(Google.Protobuf.Collections.RepeatedField<TypesV1.LabelPair> into, LabelSet labels)
    {
        foreach (var l in labels.Labels)
        {
            into.Add(new TypesV1.LabelPair { Name = l.Name, Value = l.Value });
        }
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

    private static int ComparePairs(IList<TypesV1.LabelPair> a, IList<TypesV1.LabelPair> b)
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

    private sealed class SeriesPoints(LabelSet labels)
    {
        public LabelSet Labels { get; } = labels;

        public Dictionary<(long, string, ulong, UInt128), Point> Points { get; } = [];
    }
}
