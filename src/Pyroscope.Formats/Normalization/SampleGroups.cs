using System.Buffers;
using Pyroscope.Contracts.Google.V1;
using Pyroscope.Model;

namespace Pyroscope.Formats.Normalization;

/// <summary>The samples that share one set of pprof string labels (one series per sample type).</summary>
internal sealed class SampleGroup(KeyValuePair<string, string>[] labels)
{
    public KeyValuePair<string, string>[] Labels { get; } = labels;

    public List<Sample> Samples { get; } = [];
}

/// <summary>
/// Splits samples by their string labels other than span_id / trace_id (profile_id is renamed span_id first,
/// as upstream does). Groups are keyed by label values, not string-table indices, so a table with duplicate
/// strings still yields one group per distinct label set; the look-up allocates only per new group.
/// </summary>
internal static class SampleGroups
{
    public const string TraceIdLabel = "trace_id";

    public static List<SampleGroup> Split(Profile profile)
    {
        var samples = profile.Sample;
        var anyLabels = false;
        for (var i = 0; i < samples.Count && !anyLabels; i++)
        {
            anyLabels = samples[i].Label.Count > 0;
        }
        if (!anyLabels)
        {
            var only = new SampleGroup([]);
            only.Samples.AddRange(samples);
            return [only];
        }

        var strings = profile.StringTable;
        var canonical = new CanonicalStrings(strings);
        RenameProfileIdToSpanId(profile, canonical);
        var spanKey = canonical.Find(LabelNames.SpanId);
        var traceKey = canonical.Find(TraceIdLabel);

        var groups = new List<SampleGroup>();
        var byKey = new Dictionary<long[], SampleGroup>(PairKeyComparer.Instance);
        var lookup = byKey.GetAlternateLookup<ReadOnlySpan<long>>();
        var scratch = ArrayPool<long>.Shared.Rent(16);
        try
        {
            for (var sampleIndex = 0; sampleIndex < samples.Count; sampleIndex++)
            {
                var sample = samples[sampleIndex];
                if (scratch.Length < sample.Label.Count)
                {
                    ArrayPool<long>.Shared.Return(scratch);
                    scratch = ArrayPool<long>.Shared.Rent(sample.Label.Count);
                }
                var count = 0;
                for (var labelIndex = 0; labelIndex < sample.Label.Count; labelIndex++)
                {
                    var label = sample.Label[labelIndex];
                    if (label.Str <= 0)
                    {
                        continue; // numeric labels are not series labels
                    }
                    var key = canonical.Of(label.Key);
                    if (key == spanKey || key == traceKey)
                    {
                        continue; // span/trace ids stay on the sample
                    }
                    var duplicate = false;
                    for (var k = 0; k < count && !duplicate; k++)
                    {
                        duplicate = (int)(scratch[k] >> 32) == key;
                    }
                    if (!duplicate)
                    {
                        scratch[count++] = ((long)key << 32) | (uint)canonical.Of(label.Str);
                    }
                }
                var pairs = scratch.AsSpan(0, count);
                pairs.Sort();
                if (!lookup.TryGetValue(pairs, out var group))
                {
                    group = new SampleGroup(Labels(pairs, strings));
                    lookup[pairs] = group;
                    groups.Add(group);
                }
                group.Samples.Add(sample);
            }
        }
        finally
        {
            ArrayPool<long>.Shared.Return(scratch);
        }
        return groups;
    }

    private static KeyValuePair<string, string>[] Labels(ReadOnlySpan<long> pairs, IReadOnlyList<string> strings)
    {
        var labels = new KeyValuePair<string, string>[pairs.Length];
        for (var i = 0; i < pairs.Length; i++)
        {
            labels[i] = new(strings[(int)(pairs[i] >> 32)], strings[(int)(uint)pairs[i]]);
        }
        return labels;
    }

    private static void RenameProfileIdToSpanId(Profile profile, CanonicalStrings canonical)
    {
        var profileIdKey = canonical.Find(LabelNames.ProfileId);
        if (profileIdKey < 0)
        {
            return;
        }
        var spanKey = canonical.Find(LabelNames.SpanId);
        if (spanKey < 0)
        {
            spanKey = canonical.Add(LabelNames.SpanId);
        }
        foreach (var sample in profile.Sample)
        {
            foreach (var label in sample.Label)
            {
                if (canonical.Of(label.Key) == profileIdKey)
                {
                    label.Key = spanKey;
                }
            }
        }
    }

    /// <summary>The first string-table index of each label string's value, resolved lazily (validation has checked the indices).</summary>
    private sealed class CanonicalStrings(Google.Protobuf.Collections.RepeatedField<string> strings)
    {
        private readonly Dictionary<string, int> _firstIndex = new(StringComparer.Ordinal);
        private int[] _canonical = [];

        public int Of(long index)
        {
            var i = (int)index;
            if (_canonical.Length < strings.Count)
            {
                var grown = new int[strings.Count];
                _canonical.CopyTo(grown, 0);
                grown.AsSpan(_canonical.Length).Fill(-1);
                _canonical = grown;
            }
            var c = _canonical[i];
            if (c < 0)
            {
                c = _firstIndex.TryAdd(strings[i], i) ? i : _firstIndex[strings[i]];
                _canonical[i] = c;
            }
            return c;
        }

        /// <summary>The canonical index of <paramref name="value"/>, or -1 when the table does not hold it.</summary>
        public int Find(string value)
        {
            if (_firstIndex.TryGetValue(value, out var known))
            {
                return known;
            }
            for (var i = 0; i < strings.Count; i++)
            {
                if (strings[i] == value)
                {
                    return Of(i);
                }
            }
            return -1;
        }

        public int Add(string value)
        {
            strings.Add(value);
            return Of(strings.Count - 1);
        }
    }

    /// <summary>Sorted (key, value) index pairs compared by content; looked up by span without allocating.</summary>
    private sealed class PairKeyComparer : IEqualityComparer<long[]>, IAlternateEqualityComparer<ReadOnlySpan<long>, long[]>
    {
        public static readonly PairKeyComparer Instance = new();

        public bool Equals(long[]? x, long[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(long[] obj) => Hash(obj);

        public bool Equals(ReadOnlySpan<long> alternate, long[] other) => alternate.SequenceEqual(other);

        public int GetHashCode(ReadOnlySpan<long> alternate) => Hash(alternate);

        public long[] Create(ReadOnlySpan<long> alternate) => alternate.ToArray();

        private static int Hash(ReadOnlySpan<long> pairs)
        {
            var hash = new HashCode();
            hash.AddBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(pairs));
            return hash.ToHashCode();
        }
    }
}
