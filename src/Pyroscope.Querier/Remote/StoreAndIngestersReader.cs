using Pyroscope.Model;
using Pyroscope.Model.Query;
using Pyroscope.Storage.Reading;

namespace Pyroscope.Querier.Remote;

/// <summary>
/// The complete view of a querier without an in-process ingester: the object store (uploaded blocks) plus
/// every ingester's not-yet-uploaded data. Each profile counts once because the sets are disjoint: the store
/// wins, and ingesters answer with <c>includeUploaded: false</c>. Both are read concurrently. Window: a block
/// uploaded after this querier's store listing was cached (10 s TTL) is missing from both until the listing
/// is refreshed (see docs/storage-format.md, Reading).
/// </summary>
public sealed class StoreAndIngestersReader(BlockStoreReader store, RemoteIngestersReader ingesters) : IProfileReader
{
    public async ValueTask<IReadOnlyList<ProfileTypeId>> ProfileTypesAsync(string tenantId, TimeRange range, CancellationToken cancellationToken)
    {
        var (fromStore, fromIngesters) = await BothAsync(store.ProfileTypesAsync(tenantId, range, cancellationToken), ingesters.ProfileTypesAsync(tenantId, range, cancellationToken));
        var byId = new Dictionary<string, ProfileTypeId>(StringComparer.Ordinal);
        foreach (var type in fromStore)
        {
            byId.TryAdd(type.Id, type);
        }
        foreach (var type in fromIngesters)
        {
            byId.TryAdd(type.Id, type);
        }
        var result = new List<ProfileTypeId>(byId.Values);
        result.Sort(static (a, b) => string.CompareOrdinal(a.Id, b.Id));
        return result;
    }

    public async ValueTask<IReadOnlyList<string>> LabelNamesAsync(string tenantId, IReadOnlyList<LabelMatcher> matchers, TimeRange range, CancellationToken cancellationToken)
    {
        var (a, b) = await BothAsync(store.LabelNamesAsync(tenantId, matchers, range, cancellationToken), ingesters.LabelNamesAsync(tenantId, matchers, range, cancellationToken));
        return Union(a, b);
    }

    public async ValueTask<IReadOnlyList<string>> LabelValuesAsync(string tenantId, string labelName, IReadOnlyList<LabelMatcher> matchers, TimeRange range, CancellationToken cancellationToken)
    {
        var (a, b) = await BothAsync(
            store.LabelValuesAsync(tenantId, labelName, matchers, range, cancellationToken),
            ingesters.LabelValuesAsync(tenantId, labelName, matchers, range, cancellationToken));
        return Union(a, b);
    }

    public async ValueTask<IReadOnlyList<LabelSet>> SeriesAsync(string tenantId, IReadOnlyList<LabelMatcher> matchers, TimeRange range, CancellationToken cancellationToken)
    {
        var (a, b) = await BothAsync(store.SeriesAsync(tenantId, matchers, range, cancellationToken), ingesters.SeriesAsync(tenantId, matchers, range, cancellationToken));
        var set = new HashSet<LabelSet>(a);
        set.UnionWith(b);
        var result = new List<LabelSet>(set);
        result.Sort(static (x, y) => string.CompareOrdinal(x.ToString(), y.ToString()));
        return result;
    }

    public async ValueTask MergeStacksAsync(string tenantId, SelectQuery query, IStackSink sink, CancellationToken cancellationToken)
    {
        // Sinks are not thread-safe, so the two sources write one after the other.
        await ingesters.MergeStacksAsync(tenantId, query, sink, cancellationToken);
        await store.MergeStacksAsync(tenantId, query, sink, cancellationToken);
    }

    public async ValueTask MergeProfileAsync(string tenantId, SelectQuery query, PprofMerger merger, CancellationToken cancellationToken)
    {
        // The merger is not thread-safe either.
        await ingesters.MergeProfileAsync(tenantId, query, merger, cancellationToken);
        await store.MergeProfileAsync(tenantId, query, merger, cancellationToken);
    }

    public async ValueTask<IReadOnlyList<ProfileTotal>> ProfileTotalsAsync(string tenantId, SelectQuery query, CancellationToken cancellationToken)
    {
        var (a, b) = await BothAsync(store.ProfileTotalsAsync(tenantId, query, cancellationToken), ingesters.ProfileTotalsAsync(tenantId, query, cancellationToken));
        var totals = new List<ProfileTotal>(a.Count + b.Count);
        totals.AddRange(a);
        totals.AddRange(b);
        totals.Sort(static (x, y) => x.TimestampMs.CompareTo(y.TimestampMs));
        return totals;
    }

    public async ValueTask<ProfileStats> StatsAsync(string tenantId, CancellationToken cancellationToken)
    {
        var (a, b) = await BothAsync(store.StatsAsync(tenantId, cancellationToken), ingesters.StatsAsync(tenantId, cancellationToken));
        if (!a.DataIngested)
        {
            return b;
        }
        return !b.DataIngested ? a : new ProfileStats(true, Math.Min(a.OldestProfileMs, b.OldestProfileMs), Math.Max(a.NewestProfileMs, b.NewestProfileMs));
    }

    private static async Task<(TA, TB)> BothAsync<TA, TB>(ValueTask<TA> first, ValueTask<TB> second)
    {
        var a = first.AsTask();
        var b = second.AsTask();
        await Task.WhenAll(a, b).ConfigureAwait(false);
        return (a.Result, b.Result);
    }

    private static List<string> Union(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        var set = new HashSet<string>(a, StringComparer.Ordinal);
        set.UnionWith(b);
        var list = new List<string>(set);
        list.Sort(StringComparer.Ordinal);
        return list;
    }
}
