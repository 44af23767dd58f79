using Pyroscope.Model.Ingest;
using System.Buffers;
using Pyroscope.Model;
using Pyroscope.Model.Buffers;

namespace Pyroscope.Formats.Normalization;

/// <summary>The samples (row indices) that share one set of pprof string labels (one series per sample type).</summary>
internal sealed class SampleGroup(KeyValuePair<string, string>[] labels)
{
    public KeyValuePair<string, string>[] Labels { get; } = labels;

    /// <summary>Pooled (groups grow sample by sample, for every push): returned by <see cref="SampleGroups.Return"/>.</summary>
    public PooledList<int> Samples;
}

/// <summary>
/// Splits samples by their string labels other than span_id / trace_id (profile_id is renamed span_id first,
/// as upstream does). Groups are keyed by label values, not string-table indices, so a table with duplicate
/// strings still yields one group per distinct label set; the look-up allocates only per new group.
/// </summary>
internal static class SampleGroups
{
    public const string TraceIdLabel = "trace_id";

    /// <summary>Gives the groups' sample lists back to the pool; the groups are not used afterwards.</summary>
    public static void Return(List<SampleGroup> groups)
    {
        foreach (var group in groups)
        {
            group.Samples.Dispose();
        }
    }

    /// <summary>The groups, and the string indices samples use for span ids (after the rename) and trace ids (-1 when none).</summary>
    public static List<SampleGroup> Split(PprofProfile profile, out long spanKey, out long traceKey)
    {
        var samples = profile.Samples.Span;
        spanKey = -1;
        traceKey = -1;
        if (profile.SampleLabels.Count == 0)
        {
            var only = new SampleGroup([]);
            only.Samples.Reserve(samples.Length);
            for (var i = 0; i < samples.Length; i++)
            {
                only.Samples.Add(i);
            }
            return [only];
        }

        var strings = profile.Strings;
        var canonical = new CanonicalStrings(strings);
        RenameProfileIdToSpanId(profile, canonical);
        var spanCanonical = canonical.Find(LabelNames.SpanId);
        var traceCanonical = canonical.Find(TraceIdLabel);
        spanKey = spanCanonical;
        traceKey = traceCanonical;

        var groups = new List<SampleGroup>();
        var byKey = new Dictionary<long[], SampleGroup>(PairKeyComparer.Instance);
        var lookup = byKey.GetAlternateLookup<ReadOnlySpan<long>>();
        // Samples repeat the same label lists: the labels as read (before canonical strings and sorting) find the
        // group of an identical list directly.
        var byRawLabels = new Dictionary<byte[], SampleGroup>(RawLabelsComparer.Instance);
        var rawLookup = byRawLabels.GetAlternateLookup<ReadOnlySpan<byte>>();
        var scratch = ArrayPool<long>.Shared.Rent(16);
        try
        {
            for (var sampleIndex = 0; sampleIndex < samples.Length; sampleIndex++)
            {
                var labels = profile.LabelsOf(samples[sampleIndex]);
                var raw = System.Runtime.InteropServices.MemoryMarshal.AsBytes(labels);
                if (rawLookup.TryGetValue(raw, out var known))
                {
                    known.Samples.Add(sampleIndex);
                    continue;
                }
                if (scratch.Length < labels.Length)
                {
                    ArrayPool<long>.Shared.Return(scratch);
                    scratch = ArrayPool<long>.Shared.Rent(labels.Length);
                }
                var count = 0;
                foreach (ref readonly var label in labels)
                {
                    if (label.Str <= 0)
                    {
                        continue; // numeric labels are not series labels
                    }
                    var key = canonical.Of(label.Key);
                    if (key == spanCanonical || key == traceCanonical)
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
                rawLookup[raw] = group;
                group.Samples.Add(sampleIndex);
            }
        }
        finally
        {
            ArrayPool<long>.Shared.Return(scratch);
        }
        return groups;
    }

    private static KeyValuePair<string, string>[] Labels(ReadOnlySpan<long> pairs, PprofStrings strings)
    {
        var labels = new KeyValuePair<string, string>[pairs.Length];
        for (var i = 0; i < pairs.Length; i++)
        {
            labels[i] = new(strings[(int)(pairs[i] >> 32)], strings[(int)(uint)pairs[i]]);
        }
        return labels;
    }

    private static void RenameProfileIdToSpanId(PprofProfile profile, CanonicalStrings canonical)
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
        foreach (ref var label in profile.SampleLabels.Span)
        {
            if (canonical.Of(label.Key) == profileIdKey)
            {
                label.Key = spanKey;
            }
        }
    }

    /// <summary>The first string-table index of each label string's value, resolved lazily (validation has checked the indices).</summary>
    private sealed class CanonicalStrings(PprofStrings strings)
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
                var text = strings[i];
                c = _firstIndex.TryAdd(text, i) ? i : _firstIndex[text];
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
                if (strings.EqualsText(i, value))
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

    /// <summary>A sample's labels as read, compared by their bytes; looked up by span without allocating.</summary>
    private sealed class RawLabelsComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
    {
        public static readonly RawLabelsComparer Instance = new();

        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(byte[] obj) => GetHashCode((ReadOnlySpan<byte>)obj);

        public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

        public int GetHashCode(ReadOnlySpan<byte> alternate) => (int)System.IO.Hashing.XxHash3.HashToUInt64(alternate);

        public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
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
