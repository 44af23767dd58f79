using Pyroscope.Model;
using Pyroscope.Model.Query;
using Pyroscope.Storage.Query;

namespace Pyroscope.Storage.Reading;

/// <summary>
/// Implements <see cref="IProfileReader"/> over the set of sources a subclass picks for a tenant.
/// The subclass guarantees that each profile appears in exactly one of the sources it returns.
/// </summary>
public abstract class SourceSetReader : IProfileReader
{
    protected abstract ValueTask<IReadOnlyList<ProfileSource>> GetSourcesAsync(string tenantId, CancellationToken cancellationToken);

    public async ValueTask<IReadOnlyList<ProfileTypeId>> ProfileTypesAsync(string tenantId, TimeRange range, CancellationToken cancellationToken)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var source in await GetSourcesAsync(tenantId, cancellationToken))
        {
            if (source.Overlaps(range))
            {
                await source.ReadIndexAsync((index, _) => { SourceQueries.CollectProfileTypes(index, range, ids); return 0; }, cancellationToken);
            }
        }
        var result = new List<ProfileTypeId>(ids.Count);
        foreach (var id in ids)
        {
            if (ProfileTypeId.TryParse(id, out var type))
            {
                result.Add(type);
            }
        }
        result.Sort(static (a, b) => string.CompareOrdinal(a.Id, b.Id));
        return result;
    }

    public async ValueTask<IReadOnlyList<string>> LabelNamesAsync(string tenantId, IReadOnlyList<LabelMatcher> matchers, TimeRange range, CancellationToken cancellationToken)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var source in await GetSourcesAsync(tenantId, cancellationToken))
        {
            if (source.Overlaps(range))
            {
                await source.ReadIndexAsync((index, _) => { SourceQueries.CollectLabelNames(index, matchers, range, names); return 0; }, cancellationToken);
            }
        }
        return Sorted(names);
    }

    public async ValueTask<IReadOnlyList<string>> LabelValuesAsync(string tenantId, string labelName, IReadOnlyList<LabelMatcher> matchers, TimeRange range, CancellationToken cancellationToken)
    {
        var values = new HashSet<string>(StringComparer.Ordinal);
        foreach (var source in await GetSourcesAsync(tenantId, cancellationToken))
        {
            if (source.Overlaps(range))
            {
                await source.ReadIndexAsync((index, _) => { SourceQueries.CollectLabelValues(index, labelName, matchers, range, values); return 0; }, cancellationToken);
            }
        }
        return Sorted(values);
    }

    public async ValueTask<IReadOnlyList<LabelSet>> SeriesAsync(string tenantId, IReadOnlyList<LabelMatcher> matchers, TimeRange range, CancellationToken cancellationToken)
    {
        var series = new HashSet<LabelSet>();
        foreach (var source in await GetSourcesAsync(tenantId, cancellationToken))
        {
            if (source.Overlaps(range))
            {
                await source.ReadIndexAsync((index, _) => { SourceQueries.CollectSeries(index, matchers, range, series); return 0; }, cancellationToken);
            }
        }
        var result = new List<LabelSet>(series);
        result.Sort(static (a, b) => string.CompareOrdinal(a.ToString(), b.ToString()));
        return result;
    }

    public ValueTask MergeStacksAsync(string tenantId, SelectQuery query, IStackSink sink, CancellationToken cancellationToken) =>
        ForEachSelectedSourceAsync(tenantId, query, (source, filter, seen) => source.MergeStacksAsync(query, filter, seen, sink, cancellationToken), cancellationToken);

    public ValueTask MergeProfileAsync(string tenantId, SelectQuery query, PprofMerger merger, CancellationToken cancellationToken) =>
        ForEachSelectedSourceAsync(tenantId, query, (source, filter, seen) => source.MergeProfileAsync(query, filter, seen, merger, cancellationToken), cancellationToken);

    /// <summary>One total per matching profile, or per span of it (<see cref="SelectQuery.TotalsPerSpan"/>), sorted by time.</summary>
    public async ValueTask<IReadOnlyList<ProfileTotal>> ProfileTotalsAsync(string tenantId, SelectQuery query, CancellationToken cancellationToken)
    {
        var totals = new List<ProfileTotal>();
        // Excluded profiles are not left out here: the remote reader asks for totals to decide who answers for what.
        await ForEachSelectedSourceAsync(tenantId, query with { ExcludeProfileIds = null },
            (source, filter, seen) => source.CollectTotalsAsync(query, filter, seen, totals, cancellationToken), cancellationToken);
        totals.Sort(static (a, b) => a.TimestampMs.CompareTo(b.TimestampMs));
        return totals;
    }

    /// <summary>
    /// Visits the sources overlapping the query one after the other, each with the profile-id set that makes every
    /// profile count once: shared by the sources whose time spans overlap, pre-filled with the excluded ids.
    /// </summary>
    private async ValueTask ForEachSelectedSourceAsync(string tenantId, SelectQuery query,
        Func<ProfileSource, SampleFilter, HashSet<string>?, ValueTask> visit, CancellationToken cancellationToken)
    {
        var filter = SampleFilter.Of(query);
        var sources = await GetSourcesAsync(tenantId, cancellationToken);
        var dedupe = NeedsDedupe(sources, query.Range);
        // Excluded profiles count as already seen, in every source.
        var excluded = query.ExcludeProfileIds is { Count: > 0 } ids ? new HashSet<string>(ids, StringComparer.Ordinal) : null;
        var seen = excluded ?? (dedupe is null ? null : new HashSet<string>(StringComparer.Ordinal));
        for (var i = 0; i < sources.Count; i++)
        {
            if (sources[i].Overlaps(query.Range))
            {
                await visit(sources[i], filter, excluded is not null || dedupe?[i] == true ? seen : null);
            }
        }
    }

    public async ValueTask<ProfileStats> StatsAsync(string tenantId, CancellationToken cancellationToken)
    {
        long oldest = long.MaxValue, newest = long.MinValue;
        foreach (var source in await GetSourcesAsync(tenantId, cancellationToken))
        {
            var min = source.MinTimeMs;
            var max = source.MaxTimeMs;
            if (min <= max)
            {
                oldest = Math.Min(oldest, min);
                newest = Math.Max(newest, max);
            }
        }
        return oldest == long.MaxValue ? new ProfileStats(false, 0, 0) : new ProfileStats(true, oldest, newest);
    }

    /// <summary>
    /// Which sources need profile-id de-duplication: those whose time span overlaps another
    /// source's (replicas write the same profiles into different blocks until the compactor merges
    /// them). Sources that overlap nothing skip the per-profile set lookup. Null when none overlap.
    /// </summary>
    private static bool[]? NeedsDedupe(IReadOnlyList<ProfileSource> sources, TimeRange range)
    {
        bool[]? result = null;
        var min = new long[sources.Count];
        var max = new long[sources.Count];
        for (var i = 0; i < sources.Count; i++)
        {
            min[i] = sources[i].MinTimeMs;
            max[i] = sources[i].MaxTimeMs;
        }
        for (var i = 0; i < sources.Count; i++)
        {
            if (min[i] > max[i] || !range.Overlaps(min[i], max[i]))
            {
                continue;
            }
            for (var j = i + 1; j < sources.Count; j++)
            {
                if (min[j] <= max[j] && min[i] <= max[j] && min[j] <= max[i] && range.Overlaps(min[j], max[j]))
                {
                    result ??= new bool[sources.Count];
                    result[i] = true;
                    result[j] = true;
                }
            }
        }
        return result;
    }

    private static List<string> Sorted(HashSet<string> set)
    {
        var list = new List<string>(set);
        list.Sort(StringComparer.Ordinal);
        return list;
    }
}
