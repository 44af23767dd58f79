using Pyroscope.Model;
using Pyroscope.Storage.Query;

namespace Pyroscope.Storage.Reading;

/// <summary>
/// Implements <see cref="IProfileReader"/> over the set of sources a subclass picks for a tenant.
/// The subclass guarantees that each profile appears in exactly one of the sources it returns.
/// </summary>
public abstract class SourceSetReader : IProfileReader
{
    private protected abstract ValueTask<IReadOnlyList<ProfileSource>> GetSourcesAsync(string tenantId, CancellationToken cancellationToken);

    public async ValueTask<IReadOnlyList<ProfileTypeId>> ProfileTypesAsync(string tenantId, TimeRange range, CancellationToken cancellationToken)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var source in await GetSourcesAsync(tenantId, cancellationToken))
        {
            if (source.Overlaps(range))
            {
                await source.ReadIndexAsync((index, _) => { QueryEngine.CollectProfileTypes(index, range, ids); return 0; }, cancellationToken);
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
                await source.ReadIndexAsync((index, _) => { QueryEngine.CollectLabelNames(index, matchers, range, names); return 0; }, cancellationToken);
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
                await source.ReadIndexAsync((index, _) => { QueryEngine.CollectLabelValues(index, labelName, matchers, range, values); return 0; }, cancellationToken);
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
                await source.ReadIndexAsync((index, _) => { QueryEngine.CollectSeries(index, matchers, range, series); return 0; }, cancellationToken);
            }
        }
        var result = new List<LabelSet>(series);
        result.Sort(static (a, b) => string.CompareOrdinal(a.ToString(), b.ToString()));
        return result;
    }

    public async ValueTask MergeStacksAsync(string tenantId, SelectQuery query, IStackSink sink, CancellationToken cancellationToken)
    {
        var spans = QueryEngine.ParseSpanIds(query.SpanIds);
        var sources = await GetSourcesAsync(tenantId, cancellationToken);
        var seen = SeenSet(sources, query.Range);
        foreach (var source in sources)
        {
            if (source.Overlaps(query.Range))
            {
                await source.MergeStacksAsync(query, spans, seen, sink, cancellationToken);
            }
        }
    }

    public async ValueTask<IReadOnlyList<ProfileTotal>> ProfileTotalsAsync(string tenantId, SelectQuery query, CancellationToken cancellationToken)
    {
        var totals = new List<ProfileTotal>();
        var sources = await GetSourcesAsync(tenantId, cancellationToken);
        var seen = SeenSet(sources, query.Range);
        foreach (var source in sources)
        {
            if (source.Overlaps(query.Range))
            {
                await source.ReadIndexAsync((index, profiles) =>
                {
                    QueryEngine.CollectTotals(index, profiles, index.Match(query.Matchers, query.Range), query.Range, seen, totals);
                    return 0;
                }, cancellationToken);
            }
        }
        totals.Sort(static (a, b) => a.TimestampMs.CompareTo(b.TimestampMs));
        return totals;
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
    /// Profile ids counted so far in this query, so a profile stored by several replicas (until the
    /// compactor merges their blocks) counts once. Only needed when sources overlap in time.
    /// </summary>
    private static HashSet<string>? SeenSet(IReadOnlyList<ProfileSource> sources, TimeRange range)
    {
        var overlapping = 0;
        foreach (var source in sources)
        {
            if (source.Overlaps(range) && ++overlapping > 1)
            {
                return new HashSet<string>(StringComparer.Ordinal);
            }
        }
        return null;
    }

    private static List<string> Sorted(HashSet<string> set)
    {
        var list = new List<string>(set);
        list.Sort(StringComparer.Ordinal);
        return list;
    }
}
