using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Model;
using Pyroscope.Model.Query;
using Pyroscope.Ring;
using Pyroscope.Storage.Reading;

namespace Pyroscope.Ingester.Client;

/// <summary>
/// The complete view of a querier without an in-process ingester: the object store plus every ingester.
/// Each query takes ONE snapshot of the store listing (<see cref="BlockStoreReader.SnapshotAsync"/>, possibly
/// cached for 10 s), reads exactly those blocks, and sends the ingesters the ids they cover (block ids plus
/// compaction sources) as a <see cref="StoreView"/>. Each ingester answers from every local block and head not
/// covered, uploaded or not, so a block is in exactly one answer: in the store's when the snapshot has it,
/// otherwise in its ingester's, which keeps uploaded blocks locally (2 min) longer than a listing is cached.
/// The ingesters are asked after the listing; the store snapshot and the ingesters are then read concurrently.
/// Before the listing, the query takes the ring once (<see cref="RemoteIngestersReader.ReadSet"/>): with too few
/// healthy ingesters it fails (503), and ingesters that left after uploading everything (LEFT) count as read through
/// the store, so the first query to see an ingester LEFT drops the cached listings: no query counts on a departed
/// ingester's blocks with a listing made before they were uploaded. See docs/storage-format.md, Reading.
/// </summary>
public sealed class StoreAndIngestersReader(BlockStoreReader store, RemoteIngestersReader ingesters) : IProfileReader
{
    private readonly Lock _leftLock = new();
    private readonly HashSet<(string Id, long LeftAtMs)> _knownLeft = [];

    /// <summary>
    /// The ring for one query; when it shows an ingester LEFT that no earlier query saw, the store listings are
    /// dropped (under the lock, so no query holding this ring can take a snapshot before that).
    /// </summary>
    private RingReadSet Members()
    {
        var members = ingesters.ReadSet();
        if (members.Left.Count == 0)
        {
            return members;
        }
        lock (_leftLock)
        {
            var departed = false;
            foreach (var left in members.Left)
            {
                departed |= _knownLeft.Add((left.Id, left.HeartbeatTimestampMs));
            }
            if (departed)
            {
                store.InvalidateAll();
            }
            if (_knownLeft.Count > 2 * members.Left.Count + 16)
            {
                // Tombstones are forgotten eventually; a stale entry only costs one extra listing if it comes back.
                _knownLeft.Clear();
                foreach (var left in members.Left)
                {
                    _knownLeft.Add((left.Id, left.HeartbeatTimestampMs));
                }
            }
        }
        return members;
    }

    public async ValueTask<IReadOnlyList<ProfileTypeId>> ProfileTypesAsync(string tenantId, TimeRange range, CancellationToken cancellationToken)
    {
        var members = Members();
        var snapshot = await store.SnapshotAsync(tenantId, cancellationToken);
        var (fromStore, fromIngesters) = await BothAsync(
            snapshot.ProfileTypesAsync(tenantId, range, cancellationToken),
            ingesters.ProfileTypesAsync(tenantId, range, ViewOf(snapshot, range), members, cancellationToken));
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
        var members = Members();
        var snapshot = await store.SnapshotAsync(tenantId, cancellationToken);
        var (a, b) = await BothAsync(
            snapshot.LabelNamesAsync(tenantId, matchers, range, cancellationToken),
            ingesters.LabelNamesAsync(tenantId, matchers, range, ViewOf(snapshot, range), members, cancellationToken));
        return Union(a, b);
    }

    public async ValueTask<IReadOnlyList<string>> LabelValuesAsync(string tenantId, string labelName, IReadOnlyList<LabelMatcher> matchers, TimeRange range, CancellationToken cancellationToken)
    {
        var members = Members();
        var snapshot = await store.SnapshotAsync(tenantId, cancellationToken);
        var (a, b) = await BothAsync(
            snapshot.LabelValuesAsync(tenantId, labelName, matchers, range, cancellationToken),
            ingesters.LabelValuesAsync(tenantId, labelName, matchers, range, ViewOf(snapshot, range), members, cancellationToken));
        return Union(a, b);
    }

    public async ValueTask<IReadOnlyList<LabelSet>> SeriesAsync(string tenantId, IReadOnlyList<LabelMatcher> matchers, TimeRange range, CancellationToken cancellationToken)
    {
        var members = Members();
        var snapshot = await store.SnapshotAsync(tenantId, cancellationToken);
        var (a, b) = await BothAsync(
            snapshot.SeriesAsync(tenantId, matchers, range, cancellationToken),
            ingesters.SeriesAsync(tenantId, matchers, range, ViewOf(snapshot, range), members, cancellationToken));
        var set = new HashSet<LabelSet>(a);
        set.UnionWith(b);
        var result = new List<LabelSet>(set);
        result.Sort(static (x, y) => string.CompareOrdinal(x.ToString(), y.ToString()));
        return result;
    }

    public async ValueTask MergeStacksAsync(string tenantId, SelectQuery query, IStackSink sink, CancellationToken cancellationToken)
    {
        var members = Members();
        var snapshot = await store.SnapshotAsync(tenantId, cancellationToken);
        // Sinks are not thread-safe, so the two sources write one after the other.
        // Another replica's block may already be in the snapshot while this ingester's copy is not: the
        // ingesters leave out profiles the snapshot holds (checked only when several ingesters could replicate).
        await ingesters.MergeStacksAsync(tenantId, query, ViewOf(snapshot, query.Range), members, countedElsewhere: snapshot, sink, cancellationToken);
        await snapshot.MergeStacksAsync(tenantId, query, sink, cancellationToken);
    }

    public async ValueTask MergeProfileAsync(string tenantId, SelectQuery query, PprofMerger merger, CancellationToken cancellationToken)
    {
        // Same view and replica rules as MergeStacksAsync; the merger is not thread-safe either.
        var members = Members();
        var snapshot = await store.SnapshotAsync(tenantId, cancellationToken);
        await ingesters.MergeProfileAsync(tenantId, query, ViewOf(snapshot, query.Range), members, countedElsewhere: snapshot, merger, cancellationToken);
        await snapshot.MergeProfileAsync(tenantId, query, merger, cancellationToken);
    }

    public async ValueTask<IReadOnlyList<ProfileTotal>> ProfileTotalsAsync(string tenantId, SelectQuery query, CancellationToken cancellationToken)
    {
        var members = Members();
        var snapshot = await store.SnapshotAsync(tenantId, cancellationToken);
        var (a, b) = await BothAsync(
            snapshot.ProfileTotalsAsync(tenantId, query, cancellationToken),
            ingesters.ProfileTotalsAsync(tenantId, query, ViewOf(snapshot, query.Range), members, cancellationToken));
        return MergeTotals(a, b);
    }

    /// <summary>
    /// The store's totals plus the ingesters', keeping one per (series, profile id): another replica's block may be
    /// in the store while an ingester still holds its own copy. Profiles without an id are all kept.
    /// </summary>
    internal static List<ProfileTotal> MergeTotals(IReadOnlyList<ProfileTotal> fromStore, IReadOnlyList<ProfileTotal> fromIngesters)
    {
        var totals = new List<ProfileTotal>(fromStore.Count + fromIngesters.Count);
        totals.AddRange(fromStore);
        HashSet<(ulong, string)>? stored = null;
        foreach (var total in fromIngesters)
        {
            if (total.ProfileId.Length > 0 && fromStore.Count > 0)
            {
                if (stored is null)
                {
                    stored = new HashSet<(ulong, string)>(fromStore.Count);
                    foreach (var s in fromStore)
                    {
                        if (s.ProfileId.Length > 0)
                        {
                            stored.Add((s.Series.Fingerprint, s.ProfileId));
                        }
                    }
                }
                if (stored.Contains((total.Series.Fingerprint, total.ProfileId)))
                {
                    continue;
                }
            }
            totals.Add(total);
        }
        totals.Sort(static (x, y) => x.TimestampMs.CompareTo(y.TimestampMs));
        return totals;
    }

    public async ValueTask<ProfileStats> StatsAsync(string tenantId, CancellationToken cancellationToken)
    {
        var members = Members();
        var snapshot = await store.SnapshotAsync(tenantId, cancellationToken);
        var (a, b) = await BothAsync(
            snapshot.StatsAsync(tenantId, cancellationToken),
            ingesters.StatsAsync(tenantId, new StoreView { CoveredBlockIds = { snapshot.CoveredBlockIds } }, members, cancellationToken));
        if (!a.DataIngested)
        {
            return b;
        }
        return !b.DataIngested ? a : new ProfileStats(true, Math.Min(a.OldestProfileMs, b.OldestProfileMs), Math.Max(a.NewestProfileMs, b.NewestProfileMs));
    }

    /// <summary>
    /// What the ingesters must leave out: the ids covered by the snapshot's blocks that overlap the range (a
    /// covered ingester block overlapping the range is always covered by such a block, see
    /// <see cref="BlockStoreSnapshot.CoveredBlockIdsOverlapping"/>), which keeps requests small on long-lived stores.
    /// </summary>
    internal static StoreView ViewOf(BlockStoreSnapshot snapshot, TimeRange range) =>
        new() { CoveredBlockIds = { snapshot.CoveredBlockIdsOverlapping(range) } };

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
