using System.Runtime.InteropServices;
using Pyroscope.Model;
using Pyroscope.Storage.Symbols;

namespace Pyroscope.Storage.Head;

/// <summary>
/// Series of one tenant (head or block): LabelSet ↔ dense series id, inverted postings per label
/// name/value, the time span of each series and the profiles (row indexes) that belong to it.
/// </summary>
internal sealed class SeriesIndex
{
    private readonly Dictionary<LabelSet, int> _ids = [];
    private readonly Dictionary<string, Dictionary<string, List<int>>> _postings = new(StringComparer.Ordinal);

    public GrowableArray<LabelSet> Series = new(64);
    public GrowableArray<long> SeriesMinTime = new(64);
    public GrowableArray<long> SeriesMaxTime = new(64);
    public GrowableArray<GrowableArray<int>> SeriesProfiles = new(64);

    public int Count => Series.Count;

    public int GetOrAdd(LabelSet labels)
    {
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_ids, labels, out var exists);
        if (exists)
        {
            return slot;
        }
        slot = Series.Add(labels);
        SeriesMinTime.Add(long.MaxValue);
        SeriesMaxTime.Add(long.MinValue);
        SeriesProfiles.Add(new GrowableArray<int>(4));
        foreach (var label in labels.Labels)
        {
            if (!_postings.TryGetValue(label.Name, out var byValue))
            {
                byValue = new Dictionary<string, List<int>>(StringComparer.Ordinal);
                _postings.Add(label.Name, byValue);
            }
            if (!byValue.TryGetValue(label.Value, out var list))
            {
                list = [];
                byValue.Add(label.Value, list);
            }
            list.Add(slot);
        }
        return slot;
    }

    public void AddProfile(int seriesId, int profileRow, long timestampMs)
    {
        SeriesProfiles[seriesId].Add(profileRow);
        if (timestampMs < SeriesMinTime[seriesId])
        {
            SeriesMinTime[seriesId] = timestampMs;
        }
        if (timestampMs > SeriesMaxTime[seriesId])
        {
            SeriesMaxTime[seriesId] = timestampMs;
        }
    }

    /// <summary>Series ids matching every matcher and having profiles inside <paramref name="range"/>, ascending.</summary>
    public List<int> Match(IReadOnlyList<LabelMatcher> matchers, TimeRange range)
    {
        // Start from the smallest postings list of an equality matcher, then check everything.
        List<int>? candidates = null;
        for (var i = 0; i < matchers.Count; i++)
        {
            var m = matchers[i];
            if (m.Type != Model.MatchType.Equal || m.Value.Length == 0)
            {
                continue;
            }
            if (!_postings.TryGetValue(m.Name, out var byValue) || !byValue.TryGetValue(m.Value, out var list))
            {
                return [];
            }
            if (candidates is null || list.Count < candidates.Count)
            {
                candidates = list;
            }
        }
        var result = new List<int>();
        var n = candidates?.Count ?? Series.Count;
        for (var i = 0; i < n; i++)
        {
            var id = candidates is null ? i : candidates[i];
            if (SeriesProfiles[id].Count == 0 || !range.Overlaps(SeriesMinTime[id], SeriesMaxTime[id]))
            {
                continue;
            }
            if (LabelMatcher.MatchesAll(matchers, Series[id]))
            {
                result.Add(id);
            }
        }
        return result;
    }

    public long EstimatedBytes() => Series.Count * 256L + _postings.Count * 64L;
}
