using Grpc.Core;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Model;
using Pyroscope.Model.Query;
using Pyroscope.Model.Remote;
using Pyroscope.Ring;

namespace Pyroscope.Querier.Remote;

/// <summary>
/// Reads every healthy ingester in the ring (ACTIVE or LEAVING), in parallel. Each read may carry a
/// <see cref="StoreView"/>: the store blocks the caller reads itself, so each ingester answers with everything
/// the view does not cover (see <see cref="StoreAndIngestersReader"/>); without one (the plain
/// <see cref="IProfileReader"/> methods) ingesters answer with their not-yet-uploaded data only.
/// A failing ingester fails the whole read with <see cref="IngesterReadException"/>: a silently partial answer
/// would look like missing data. With replication factor &gt; 1 each profile lives on several ingesters:
/// series, names, values and types are sets (naturally de-duplicated), profile totals are de-duplicated by
/// profile id, and merged stacks take each replicated profile from one ingester (the others exclude it).
/// </summary>
public sealed class RemoteIngestersReader(IRing ring, IngesterChannelPool channels) : IProfileReader
{
    public const string TenantHeader = "x-scope-orgid";

    private long _channelsCheckedAtVersion = -1;

    /// <summary>Deadline of one read from one ingester.</summary>
    public TimeSpan RemoteTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public ValueTask<IReadOnlyList<ProfileTypeId>> ProfileTypesAsync(string tenantId, TimeRange range, CancellationToken cancellationToken) =>
        ProfileTypesAsync(tenantId, range, storeView: null, cancellationToken);

    public async ValueTask<IReadOnlyList<ProfileTypeId>> ProfileTypesAsync(string tenantId, TimeRange range, StoreView? storeView, CancellationToken cancellationToken)
    {
        var request = new ProfileTypesRequest { Range = ReadProtocol.ToProto(range), StoreView = storeView };
        var answers = await FanOutAsync(tenantId, (client, options) => client.ProfileTypesAsync(request, options).ResponseAsync, cancellationToken);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var answer in answers)
        {
            ids.UnionWith(answer.Ids);
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

    public ValueTask<IReadOnlyList<string>> LabelNamesAsync(string tenantId, IReadOnlyList<LabelMatcher> matchers, TimeRange range, CancellationToken cancellationToken) =>
        LabelNamesAsync(tenantId, matchers, range, storeView: null, cancellationToken);

    public async ValueTask<IReadOnlyList<string>> LabelNamesAsync(string tenantId, IReadOnlyList<LabelMatcher> matchers, TimeRange range, StoreView? storeView, CancellationToken cancellationToken)
    {
        var request = new LabelNamesRequest { Range = ReadProtocol.ToProto(range), Matchers = { ReadProtocol.ToProto(matchers) }, StoreView = storeView };
        var answers = await FanOutAsync(tenantId, (client, options) => client.LabelNamesAsync(request, options).ResponseAsync, cancellationToken);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var answer in answers)
        {
            names.UnionWith(answer.Names);
        }
        return Sorted(names);
    }

    public ValueTask<IReadOnlyList<string>> LabelValuesAsync(string tenantId, string labelName, IReadOnlyList<LabelMatcher> matchers, TimeRange range, CancellationToken cancellationToken) =>
        LabelValuesAsync(tenantId, labelName, matchers, range, storeView: null, cancellationToken);

    public async ValueTask<IReadOnlyList<string>> LabelValuesAsync(
        string tenantId, string labelName, IReadOnlyList<LabelMatcher> matchers, TimeRange range, StoreView? storeView, CancellationToken cancellationToken)
    {
        var request = new LabelValuesRequest { Name = labelName, Range = ReadProtocol.ToProto(range), Matchers = { ReadProtocol.ToProto(matchers) }, StoreView = storeView };
        var answers = await FanOutAsync(tenantId, (client, options) => client.LabelValuesAsync(request, options).ResponseAsync, cancellationToken);
        var values = new HashSet<string>(StringComparer.Ordinal);
        foreach (var answer in answers)
        {
            values.UnionWith(answer.Values);
        }
        return Sorted(values);
    }

    public ValueTask<IReadOnlyList<LabelSet>> SeriesAsync(string tenantId, IReadOnlyList<LabelMatcher> matchers, TimeRange range, CancellationToken cancellationToken) =>
        SeriesAsync(tenantId, matchers, range, storeView: null, cancellationToken);

    public async ValueTask<IReadOnlyList<LabelSet>> SeriesAsync(string tenantId, IReadOnlyList<LabelMatcher> matchers, TimeRange range, StoreView? storeView, CancellationToken cancellationToken)
    {
        var request = new SeriesRequest { Range = ReadProtocol.ToProto(range), Matchers = { ReadProtocol.ToProto(matchers) }, StoreView = storeView };
        var answers = await FanOutAsync(tenantId, (client, options) => client.SeriesAsync(request, options).ResponseAsync, cancellationToken);
        var series = new HashSet<LabelSet>();
        foreach (var answer in answers)
        {
            foreach (var labels in answer.Series)
            {
                series.Add(ReadProtocol.FromProto(labels));
            }
        }
        var result = new List<LabelSet>(series);
        result.Sort(static (a, b) => string.CompareOrdinal(a.ToString(), b.ToString()));
        return result;
    }

    public ValueTask MergeStacksAsync(string tenantId, SelectQuery query, IStackSink sink, CancellationToken cancellationToken) =>
        MergeStacksAsync(tenantId, query, storeView: null, countedElsewhere: null, sink, cancellationToken);

    /// <summary>
    /// Merges the ingesters' stacks into <paramref name="sink"/>. With several ingesters, replicas of a profile are
    /// merged from one ingester only; a profile that <paramref name="countedElsewhere"/> (the store snapshot the
    /// caller merges too) also holds, e.g. another replica's already uploaded block, is merged from none.
    /// </summary>
    public async ValueTask MergeStacksAsync(
        string tenantId, SelectQuery query, StoreView? storeView, IProfileReader? countedElsewhere, IStackSink sink, CancellationToken cancellationToken)
    {
        var request = ReadProtocol.ToProto(query);
        request.StoreView = storeView;
        var owners = ring.GetAllHealthy(RingOperation.Read).Count > 1
            ? await ReplicaOwnersAsync(tenantId, query, request, countedElsewhere, cancellationToken)
            : null;
        var answers = await FanOutAsync(tenantId, (instance, client, options) =>
            client.MergeStacksAsync(owners is null ? request : WithExclusions(request, owners, instance.Id), options).ResponseAsync, cancellationToken);
        // Sinks are not thread-safe: replay after all answers arrived.
        foreach (var answer in answers)
        {
            StackSetReader.ReplayInto(answer, sink);
        }
    }

    public ValueTask MergeProfileAsync(string tenantId, SelectQuery query, PprofMerger merger, CancellationToken cancellationToken) =>
        MergeProfileAsync(tenantId, query, storeView: null, countedElsewhere: null, merger, cancellationToken);

    /// <summary>
    /// Merges the ingesters' symbolised samples into <paramref name="merger"/>, under the replica rules of
    /// <see cref="MergeStacksAsync(string, SelectQuery, StoreView?, IProfileReader?, IStackSink, CancellationToken)"/>.
    /// </summary>
    public async ValueTask MergeProfileAsync(
        string tenantId, SelectQuery query, StoreView? storeView, IProfileReader? countedElsewhere, PprofMerger merger, CancellationToken cancellationToken)
    {
        var request = ReadProtocol.ToProto(query);
        request.StoreView = storeView;
        var owners = ring.GetAllHealthy(RingOperation.Read).Count > 1
            ? await ReplicaOwnersAsync(tenantId, query, request, countedElsewhere, cancellationToken)
            : null;
        var answers = await FanOutAsync(tenantId, (instance, client, options) =>
            client.MergeProfileAsync(owners is null ? request : WithExclusions(request, owners, instance.Id), options).ResponseAsync, cancellationToken);
        // The merger is not thread-safe: merge after all answers arrived.
        foreach (var answer in answers)
        {
            merger.Add(answer);
        }
    }

    /// <summary>
    /// Which ingester answers for each replicated profile id (the lowest instance id holding it; none when
    /// <paramref name="countedElsewhere"/> holds it too); profiles held by one ingester only are not listed.
    /// Null when nothing is replicated, so the merge needs no exclusions.
    /// </summary>
    private async Task<Dictionary<string, string>?> ReplicaOwnersAsync(
        string tenantId, SelectQuery query, SelectRequest request, IProfileReader? countedElsewhere, CancellationToken cancellationToken)
    {
        var answers = await FanOutAsync(tenantId, async (instance, client, options) =>
            (instance.Id, await client.ProfileTotalsAsync(request, options).ResponseAsync.ConfigureAwait(false)), cancellationToken);
        var elsewhere = countedElsewhere is null ? null : await ProfileIdsAlsoInAsync(countedElsewhere, tenantId, query, answers, cancellationToken);
        return ReplicaOwners(answers, elsewhere);
    }

    /// <summary>
    /// The ids of the ingesters' profiles that <paramref name="other"/> holds too. Only the time window of the
    /// ingesters' own profiles is read (ingesters hold recent data), so a long query range does not read the
    /// whole store twice.
    /// </summary>
    private static async Task<HashSet<string>?> ProfileIdsAlsoInAsync(
        IProfileReader other, string tenantId, SelectQuery query, (string InstanceId, ProfileTotalsResponse Totals)[] answers, CancellationToken cancellationToken)
    {
        long min = long.MaxValue, max = long.MinValue;
        foreach (var (_, totals) in answers)
        {
            foreach (var total in totals.Totals)
            {
                if (total.ProfileId.Length > 0)
                {
                    min = Math.Min(min, total.TimestampMs);
                    max = Math.Max(max, total.TimestampMs);
                }
            }
        }
        if (min > max)
        {
            return null;
        }
        var window = new TimeRange(Math.Max(min, query.Range.StartMs), Math.Min(max, query.Range.EndMs));
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var total in await other.ProfileTotalsAsync(tenantId, query with { Range = window }, cancellationToken))
        {
            if (total.ProfileId.Length > 0)
            {
                ids.Add(total.ProfileId);
            }
        }
        return ids.Count == 0 ? null : ids;
    }

    /// <summary>Owner of a profile that another source counts already: no ingester answers for it.</summary>
    internal const string CountedElsewhere = "";

    internal static Dictionary<string, string>? ReplicaOwners(
        IEnumerable<(string InstanceId, ProfileTotalsResponse Totals)> answers, IReadOnlySet<string>? countedElsewhere = null)
    {
        var ordered = new List<(string InstanceId, ProfileTotalsResponse Totals)>(answers);
        ordered.Sort(static (a, b) => string.CompareOrdinal(a.InstanceId, b.InstanceId));
        var firstHolder = new Dictionary<string, string>(StringComparer.Ordinal);
        Dictionary<string, string>? replicated = null;
        foreach (var (instanceId, totals) in ordered)
        {
            foreach (var total in totals.Totals)
            {
                var id = total.ProfileId;
                if (id.Length == 0)
                {
                    continue;
                }
                if (countedElsewhere is not null && countedElsewhere.Contains(id))
                {
                    (replicated ??= new Dictionary<string, string>(StringComparer.Ordinal))[id] = CountedElsewhere;
                }
                else if (!firstHolder.TryAdd(id, instanceId) && firstHolder[id] != instanceId)
                {
                    // Only replicated ids matter: the others have one holder and need no exclusion.
                    (replicated ??= new Dictionary<string, string>(StringComparer.Ordinal))[id] = firstHolder[id];
                }
            }
        }
        return replicated;
    }

    /// <summary>The request for one ingester: leave out the profiles another ingester answers for.</summary>
    internal static SelectRequest WithExclusions(SelectRequest request, Dictionary<string, string> owners, string instanceId)
    {
        var own = request.Clone();
        foreach (var (profileId, owner) in owners)
        {
            if (owner != instanceId)
            {
                own.ExcludeProfileIds.Add(profileId);
            }
        }
        return own;
    }

    public ValueTask<IReadOnlyList<ProfileTotal>> ProfileTotalsAsync(string tenantId, SelectQuery query, CancellationToken cancellationToken) =>
        ProfileTotalsAsync(tenantId, query, storeView: null, cancellationToken);

    public async ValueTask<IReadOnlyList<ProfileTotal>> ProfileTotalsAsync(string tenantId, SelectQuery query, StoreView? storeView, CancellationToken cancellationToken)
    {
        var request = ReadProtocol.ToProto(query);
        request.StoreView = storeView;
        var answers = await FanOutAsync(tenantId, (client, options) => client.ProfileTotalsAsync(request, options).ResponseAsync, cancellationToken);
        return MergeTotals(answers);
    }

    /// <summary>
    /// Concatenates the ingesters' totals, keeping one per profile: replicas of a profile share its series and
    /// the id the distributor assigned. Profiles without an id are all kept.
    /// </summary>
    internal static List<ProfileTotal> MergeTotals(IEnumerable<ProfileTotalsResponse> answers)
    {
        var totals = new List<ProfileTotal>();
        var seen = new HashSet<(ulong, string)>();
        foreach (var answer in answers)
        {
            foreach (var total in ReadProtocol.FromProto(answer))
            {
                if (total.ProfileId.Length == 0 || seen.Add((total.Series.Fingerprint, total.ProfileId)))
                {
                    totals.Add(total);
                }
            }
        }
        totals.Sort(static (a, b) => a.TimestampMs.CompareTo(b.TimestampMs));
        return totals;
    }

    public ValueTask<ProfileStats> StatsAsync(string tenantId, CancellationToken cancellationToken) =>
        StatsAsync(tenantId, storeView: null, cancellationToken);

    public async ValueTask<ProfileStats> StatsAsync(string tenantId, StoreView? storeView, CancellationToken cancellationToken)
    {
        var request = new StatsRequest { StoreView = storeView };
        var answers = await FanOutAsync(tenantId, (client, options) => client.StatsAsync(request, options).ResponseAsync, cancellationToken);
        return Combine(answers);
    }

    internal static ProfileStats Combine(IEnumerable<StatsResponse> answers)
    {
        long oldest = long.MaxValue, newest = long.MinValue;
        foreach (var answer in answers)
        {
            if (answer.DataIngested)
            {
                oldest = Math.Min(oldest, answer.OldestProfileMs);
                newest = Math.Max(newest, answer.NewestProfileMs);
            }
        }
        return oldest == long.MaxValue ? new ProfileStats(false, 0, 0) : new ProfileStats(true, oldest, newest);
    }

    /// <summary>
    /// Calls every healthy ingester at once. The first failure cancels the other calls and fails the read,
    /// naming the ingester; the caller's cancellation cancels all calls.
    /// </summary>
    private Task<T[]> FanOutAsync<T>(
        string tenantId,
        Func<IngesterService.IngesterServiceClient, CallOptions, Task<T>> call,
        CancellationToken cancellationToken) =>
        FanOutAsync(tenantId, (_, client, options) => call(client, options), cancellationToken);

    private async Task<T[]> FanOutAsync<T>(
        string tenantId,
        Func<InstanceDesc, IngesterService.IngesterServiceClient, CallOptions, Task<T>> call,
        CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenantId);
        EvictDepartedChannels(ring.Current);
        var instances = ring.GetAllHealthy(RingOperation.Read);
        if (instances.Count == 0)
        {
            return [];
        }
        using var failFast = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var headers = new Metadata { { TenantHeader, tenantId } };
        var deadline = DateTime.UtcNow + RemoteTimeout;
        var tasks = new Task<T>[instances.Count];
        for (var i = 0; i < tasks.Length; i++)
        {
            var instance = instances[i];
            tasks[i] = CallOneAsync(instance, call, new CallOptions(headers, deadline, failFast.Token), failFast);
        }
        try
        {
            return await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        catch when (!cancellationToken.IsCancellationRequested)
        {
            // Report the first real failure, not the cancellations it caused in the other calls.
            foreach (var task in tasks)
            {
                if (task.Exception?.InnerException is IngesterReadException failure)
                {
                    throw failure;
                }
            }
            throw;
        }
        catch (Exception e) when (cancellationToken.IsCancellationRequested && e is not OperationCanceledException)
        {
            // gRPC reports the caller's cancellation as a Cancelled status; callers expect the standard exception.
            throw new OperationCanceledException("the read from the ingesters was cancelled", e, cancellationToken);
        }
    }

    private async Task<T> CallOneAsync<T>(
        InstanceDesc instance,
        Func<InstanceDesc, IngesterService.IngesterServiceClient, CallOptions, Task<T>> call,
        CallOptions options,
        CancellationTokenSource failFast)
    {
        try
        {
            return await call(instance, channels.GetClient(instance.GrpcAddr), options).ConfigureAwait(false);
        }
        catch (Exception e) when (!failFast.IsCancellationRequested)
        {
            failFast.Cancel();
            throw new IngesterReadException(instance.Id, instance.GrpcAddr, e);
        }
    }

    /// <summary>Closes channels to addresses no longer in the ring, once per ring version.</summary>
    private void EvictDepartedChannels(RingSnapshot snapshot)
    {
        var checkedAt = Interlocked.Read(ref _channelsCheckedAtVersion);
        if (checkedAt == snapshot.Version || Interlocked.CompareExchange(ref _channelsCheckedAtVersion, snapshot.Version, checkedAt) != checkedAt)
        {
            return;
        }
        var present = new HashSet<string>(StringComparer.Ordinal);
        foreach (var instance in snapshot.Instances)
        {
            present.Add(instance.GrpcAddr);
        }
        foreach (var address in channels.Addresses)
        {
            if (!present.Contains(address))
            {
                channels.Evict(address);
            }
        }
    }

    private static List<string> Sorted(HashSet<string> set)
    {
        var list = new List<string>(set);
        list.Sort(StringComparer.Ordinal);
        return list;
    }
}

/// <summary>A read from one ingester failed, so the whole read fails (a partial answer would hide data).</summary>
public sealed class IngesterReadException(string instanceId, string address, Exception inner)
    : Exception($"reading from ingester {instanceId} ({address}) failed: {(inner is RpcException rpc ? $"{rpc.StatusCode} {rpc.Status.Detail}" : inner.Message)}", inner)
{
    public string InstanceId { get; } = instanceId;

    public string Address { get; } = address;
}
