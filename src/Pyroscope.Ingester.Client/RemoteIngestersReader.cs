using Grpc.Core;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Model;
using Pyroscope.Model.Query;
using Pyroscope.Ring;

namespace Pyroscope.Ingester.Client;

/// <summary>
/// Reads every healthy ingester in the ring (ACTIVE or LEAVING), in parallel. Each read may carry a
/// <see cref="StoreView"/>: the store blocks the caller reads itself, so each ingester answers with everything
/// the view does not cover (see <see cref="StoreAndIngestersReader"/>); without one (the plain
/// <see cref="IProfileReader"/> methods) ingesters answer with their not-yet-uploaded data only.
/// Failures are tolerated as dskit's read replication set does (<see cref="RingReadSet"/>): every acknowledged write
/// reached a quorum (rf/2+1) of its rf replicas, so up to rf/2 ingesters may be unhealthy or fail a read without
/// losing data; ingesters that left after uploading everything (LEFT) count as answered, their data being in the
/// store the caller reads. With fewer healthy ingesters than that the read fails before calling anyone, and one
/// failure more fails it too, both with <see cref="IngestersUnavailableException"/> naming every ingester that is
/// missing: a silently partial answer would look complete. As dskit's DoUntilQuorum, a read stops waiting once enough
/// ingesters answered (the slower ones are cancelled), and waits on one for at most a heartbeat timeout, so a frozen
/// ingester neither holds up reads nor, with too few others, delays the 503 for long.
/// With replication factor &gt; 1 each profile lives on several ingesters:
/// series, names, values and types are sets (naturally de-duplicated), profile totals are de-duplicated by
/// profile id, and merged stacks take each profile from the one ingester it is assigned to (<see cref="ReplicaAssignment"/>).
/// </summary>
public sealed class RemoteIngestersReader(IRing ring, IngesterChannelPool channels) : IProfileReader
{
    /// <summary>Deadline of one read from one ingester.</summary>
    public TimeSpan RemoteTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public ValueTask<IReadOnlyList<ProfileTypeId>> ProfileTypesAsync(string tenantId, TimeRange range, CancellationToken cancellationToken) =>
        ProfileTypesAsync(tenantId, range, storeView: null, members: null, cancellationToken);

    public async ValueTask<IReadOnlyList<ProfileTypeId>> ProfileTypesAsync(string tenantId, TimeRange range, StoreView? storeView, RingReadSet? members, CancellationToken cancellationToken)
    {
        var request = new ProfileTypesRequest { Range = ReadProtocol.ToProto(range), StoreView = storeView };
        var answers = await FanOutAsync(tenantId, members, (client, options) => client.ProfileTypesAsync(request, options).ResponseAsync, cancellationToken);
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
        LabelNamesAsync(tenantId, matchers, range, storeView: null, members: null, cancellationToken);

    public async ValueTask<IReadOnlyList<string>> LabelNamesAsync(string tenantId, IReadOnlyList<LabelMatcher> matchers, TimeRange range, StoreView? storeView, RingReadSet? members, CancellationToken cancellationToken)
    {
        var request = new LabelNamesRequest { Range = ReadProtocol.ToProto(range), Matchers = { ReadProtocol.ToProto(matchers) }, StoreView = storeView };
        var answers = await FanOutAsync(tenantId, members, (client, options) => client.LabelNamesAsync(request, options).ResponseAsync, cancellationToken);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var answer in answers)
        {
            names.UnionWith(answer.Names);
        }
        return Sorted(names);
    }

    public ValueTask<IReadOnlyList<string>> LabelValuesAsync(string tenantId, string labelName, IReadOnlyList<LabelMatcher> matchers, TimeRange range, CancellationToken cancellationToken) =>
        LabelValuesAsync(tenantId, labelName, matchers, range, storeView: null, members: null, cancellationToken);

    public async ValueTask<IReadOnlyList<string>> LabelValuesAsync(
        string tenantId, string labelName, IReadOnlyList<LabelMatcher> matchers, TimeRange range, StoreView? storeView, RingReadSet? members, CancellationToken cancellationToken)
    {
        var request = new LabelValuesRequest { Name = labelName, Range = ReadProtocol.ToProto(range), Matchers = { ReadProtocol.ToProto(matchers) }, StoreView = storeView };
        var answers = await FanOutAsync(tenantId, members, (client, options) => client.LabelValuesAsync(request, options).ResponseAsync, cancellationToken);
        var values = new HashSet<string>(StringComparer.Ordinal);
        foreach (var answer in answers)
        {
            values.UnionWith(answer.Values);
        }
        return Sorted(values);
    }

    public ValueTask<IReadOnlyList<LabelSet>> SeriesAsync(string tenantId, IReadOnlyList<LabelMatcher> matchers, TimeRange range, CancellationToken cancellationToken) =>
        SeriesAsync(tenantId, matchers, range, storeView: null, members: null, cancellationToken);

    public async ValueTask<IReadOnlyList<LabelSet>> SeriesAsync(string tenantId, IReadOnlyList<LabelMatcher> matchers, TimeRange range, StoreView? storeView, RingReadSet? members, CancellationToken cancellationToken)
    {
        var request = new SeriesRequest { Range = ReadProtocol.ToProto(range), Matchers = { ReadProtocol.ToProto(matchers) }, StoreView = storeView };
        var answers = await FanOutAsync(tenantId, members, (client, options) => client.SeriesAsync(request, options).ResponseAsync, cancellationToken);
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
        MergeStacksAsync(tenantId, query, storeView: null, members: null, countedElsewhere: null, sink, cancellationToken);

    /// <summary>
    /// Merges the ingesters' stacks into <paramref name="sink"/>. With several ingesters, replicas of a profile are
    /// merged from one ingester only; a profile that <paramref name="countedElsewhere"/> (the store snapshot the
    /// caller merges too) also holds, e.g. another replica's already uploaded block, is merged from none.
    /// </summary>
    public ValueTask MergeStacksAsync(
        string tenantId, SelectQuery query, StoreView? storeView, RingReadSet? members, IProfileReader? countedElsewhere, IStackSink sink, CancellationToken cancellationToken) =>
        MergeOncePerProfileAsync(tenantId, query, storeView, members, countedElsewhere,
            static (client, request, options) => client.MergeStacksAsync(request, options).ResponseAsync,
            answers => ReplayAll(answers, sink), cancellationToken);

    public ValueTask MergeProfileAsync(string tenantId, SelectQuery query, PprofMerger merger, CancellationToken cancellationToken) =>
        MergeProfileAsync(tenantId, query, storeView: null, members: null, countedElsewhere: null, merger, cancellationToken);

    /// <summary>
    /// Merges the ingesters' symbolised samples into <paramref name="merger"/>, under the replica rules of
    /// <see cref="MergeStacksAsync(string, SelectQuery, StoreView?, RingReadSet?, IProfileReader?, IStackSink, CancellationToken)"/>.
    /// </summary>
    public ValueTask MergeProfileAsync(
        string tenantId, SelectQuery query, StoreView? storeView, RingReadSet? members, IProfileReader? countedElsewhere, PprofMerger merger, CancellationToken cancellationToken) =>
        MergeOncePerProfileAsync(tenantId, query, storeView, members, countedElsewhere,
            static (client, request, options) => client.MergeProfileAsync(request, options).ResponseAsync,
            answers =>
            {
                foreach (var (_, answer) in answers)
                {
                    merger.Add(answer);
                }
            }, cancellationToken);

    /// <summary>
    /// Calls a merging read (<paramref name="call"/>) on the ingesters so that each profile is counted once, and hands
    /// all answers to <paramref name="apply"/> together (sinks and mergers are not thread-safe).
    /// </summary>
    private async ValueTask MergeOncePerProfileAsync<TAnswer>(
        string tenantId, SelectQuery query, StoreView? storeView, RingReadSet? members, IProfileReader? countedElsewhere,
        Func<IngesterService.IngesterServiceClient, SelectRequest, CallOptions, Task<TAnswer>> call,
        Action<List<(InstanceDesc Instance, TAnswer Answer)>> apply, CancellationToken cancellationToken)
    {
        var request = ReadProtocol.ToProto(query);
        request.StoreView = storeView;
        members ??= ReadSet();
        // One ingester alone still has to leave out what the store counts when other replicas' blocks are there (say
        // after the others left): its own copies would count twice.
        if (members.Healthy.Count <= 1 && (countedElsewhere is null || members.ReplicationFactor <= 1))
        {
            apply(await FanOutAsync(tenantId, members, members.Calls, [], (_, client, options) => call(client, request, options), cancellationToken));
            return;
        }
        // Replicas: each replicated profile is merged from the one ingester that owns it, so an owner failing
        // during the merge would drop its profiles. Then the owners are chosen again among the ingesters still
        // answering, as long as the failure budget lasts. The first round stops at a quorum, so an owner failing
        // later may leave too few of those that answered while an ingester left out is still there: then the read
        // starts again without the failed ones, as long as enough remain.
        while (true)
        {
            var failures = new List<IngesterReadException>();
            try
            {
                await MergeReplicasOnceAsync(tenantId, query, request, members, countedElsewhere, call, apply, failures, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (IngestersUnavailableException) when (failures.Count > 0 && Without(members, failures) is { Sufficient: true } remaining)
            {
                members = remaining;
            }
        }
    }

    /// <summary><paramref name="members"/> with the ingesters that failed moved from the healthy ones to those it cannot read.</summary>
    private static RingReadSet Without(RingReadSet members, List<IngesterReadException> failures)
    {
        var healthy = new List<InstanceDesc>(members.Healthy.Count);
        var unreadable = new List<UnreadableMember>(members.Unreadable);
        foreach (var instance in members.Healthy)
        {
            var failure = failures.Find(f => f.InstanceId == instance.Id);
            if (failure is null)
            {
                healthy.Add(instance);
            }
            else
            {
                unreadable.Add(new UnreadableMember(instance, "failed: " + failure.Cause));
            }
        }
        return new RingReadSet(members.RingVersion, healthy, members.Left, unreadable, members.MemberCount, members.ReplicationFactor);
    }

    private async Task MergeReplicasOnceAsync<TAnswer>(
        string tenantId, SelectQuery query, SelectRequest request, RingReadSet members, IProfileReader? countedElsewhere,
        Func<IngesterService.IngesterServiceClient, SelectRequest, CallOptions, Task<TAnswer>> call,
        Action<List<(InstanceDesc Instance, TAnswer Answer)>> apply, List<IngesterReadException> failures, CancellationToken cancellationToken)
    {
        var totals = await FanOutAsync(tenantId, members, members.Calls, failures,
            (_, client, options) => client.ProfileTotalsAsync(request, options).ResponseAsync, cancellationToken);
        var elsewhere = countedElsewhere is null ? null : await ProfileIdsAlsoInAsync(countedElsewhere, tenantId, query, totals, cancellationToken);
        var survivors = new List<InstanceDesc>(totals.Count);
        foreach (var (instance, _) in totals)
        {
            survivors.Add(instance);
        }
        // The totals came from as many members as the read needs (the others may have been left out once enough
        // answered); every owner must answer now, and a failed one may be replaced only while enough remain.
        var required = members.Calls.MinSuccess;
        while (true)
        {
            var assignment = ReplicaAssignment.Of(ByInstanceId(totals), elsewhere);
            var attempt = new ReplicationSet(survivors, Math.Min(required, survivors.Count));
            var answers = await FanOutAsync(tenantId, members, attempt, failures, (instance, client, options) =>
                call(client, assignment.RequestFor(request, instance.Id), options), cancellationToken, untilQuorum: false);
            if (answers.Count == survivors.Count)
            {
                apply(answers);
                return;
            }
            survivors = new List<InstanceDesc>(answers.Count);
            foreach (var (instance, _) in answers)
            {
                survivors.Add(instance);
            }
            totals = totals.FindAll(t => survivors.Exists(i => i.Id == t.Instance.Id));
        }
    }

    private static IEnumerable<(string InstanceId, ProfileTotalsResponse Totals)> ByInstanceId(List<(InstanceDesc Instance, ProfileTotalsResponse Totals)> answers)
    {
        foreach (var (instance, totals) in answers)
        {
            yield return (instance.Id, totals);
        }
    }

    private static void ReplayAll(List<(InstanceDesc Instance, StackSet Answer)> answers, IStackSink sink)
    {
        foreach (var (_, answer) in answers)
        {
            StackSetReader.ReplayInto(answer, sink);
        }
    }

    /// <summary>
    /// The ids of the ingesters' profiles that <paramref name="other"/> holds too. Only the time window of the
    /// ingesters' own profiles is read (ingesters hold recent data), so a long query range does not read the
    /// whole store twice.
    /// </summary>
    private static async Task<HashSet<string>?> ProfileIdsAlsoInAsync(
        IProfileReader other, string tenantId, SelectQuery query, List<(InstanceDesc Instance, ProfileTotalsResponse Totals)> answers, CancellationToken cancellationToken)
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
        // Only ids matter here: sample filters would make the store read samples for nothing.
        var idsQuery = query with { Range = window, SpanIds = null, TraceIds = null, CallSite = null, TotalsPerSpan = false };
        foreach (var total in await other.ProfileTotalsAsync(tenantId, idsQuery, cancellationToken))
        {
            if (total.ProfileId.Length > 0)
            {
                ids.Add(total.ProfileId);
            }
        }
        return ids.Count == 0 ? null : ids;
    }

    public ValueTask<IReadOnlyList<ProfileTotal>> ProfileTotalsAsync(string tenantId, SelectQuery query, CancellationToken cancellationToken) =>
        ProfileTotalsAsync(tenantId, query, storeView: null, members: null, cancellationToken);

    public async ValueTask<IReadOnlyList<ProfileTotal>> ProfileTotalsAsync(string tenantId, SelectQuery query, StoreView? storeView, RingReadSet? members, CancellationToken cancellationToken)
    {
        var request = ReadProtocol.ToProto(query);
        request.StoreView = storeView;
        var answers = await FanOutAsync(tenantId, members, (client, options) => client.ProfileTotalsAsync(request, options).ResponseAsync, cancellationToken);
        return MergeTotals(answers);
    }

    /// <summary>
    /// Concatenates the ingesters' totals, keeping one per profile (per span of it when asked per span): replicas of a
    /// profile share its series and the id the distributor assigned. Profiles without an id are all kept.
    /// </summary>
    internal static List<ProfileTotal> MergeTotals(IEnumerable<ProfileTotalsResponse> answers)
    {
        var totals = new List<ProfileTotal>();
        var seen = new HashSet<(ulong, string, ulong, UInt128)>();
        foreach (var answer in answers)
        {
            foreach (var total in ReadProtocol.FromProto(answer))
            {
                if (total.ProfileId.Length == 0 || seen.Add((total.Series.Fingerprint, total.ProfileId, total.SpanId, total.TraceId)))
                {
                    totals.Add(total);
                }
            }
        }
        totals.Sort(static (a, b) => a.TimestampMs.CompareTo(b.TimestampMs));
        return totals;
    }

    public ValueTask<ProfileStats> StatsAsync(string tenantId, CancellationToken cancellationToken) =>
        StatsAsync(tenantId, storeView: null, members: null, cancellationToken);

    public async ValueTask<ProfileStats> StatsAsync(string tenantId, StoreView? storeView, RingReadSet? members, CancellationToken cancellationToken)
    {
        var request = new StatsRequest { StoreView = storeView };
        var answers = await FanOutAsync(tenantId, members, (client, options) => client.StatsAsync(request, options).ResponseAsync, cancellationToken);
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
    /// The ring as one read sees it: every healthy ingester, the ones that left after uploading their data, the ones
    /// that cannot be read, and how many calls may fail (<see cref="RingReadSet"/>). Channels of ingesters that left
    /// or were restarted are closed first. A caller that also reads the store takes it once per query and passes it
    /// to every call of that query, so that the ingesters it counts as LEFT are those its store listing covers.
    /// </summary>
    public RingReadSet ReadSet()
    {
        channels.EvictDeparted(ring.Current);
        return Replication.ForRead(ring);
    }

    /// <summary>Calls every healthy ingester of <paramref name="members"/> (the ring now when null) at once and returns their answers.</summary>
    private async Task<List<T>> FanOutAsync<T>(
        string tenantId,
        RingReadSet? members,
        Func<IngesterService.IngesterServiceClient, CallOptions, Task<T>> call,
        CancellationToken cancellationToken)
    {
        members ??= ReadSet();
        var answers = await FanOutAsync(tenantId, members, members.Calls, [], (_, client, options) => call(client, options), cancellationToken).ConfigureAwait(false);
        var values = new List<T>(answers.Count);
        foreach (var (_, answer) in answers)
        {
            values.Add(answer);
        }
        return values;
    }

    /// <summary>
    /// Calls the ingesters of <paramref name="calls"/> at once and returns the answers of those that succeeded, as soon
    /// as <see cref="ReplicationSet.MinSuccess"/> did (the other calls are cancelled) unless <paramref name="untilQuorum"/>
    /// is false (then every call is awaited); the failures are added to <paramref name="failures"/>. Up to <see cref="ReplicationSet.MaxErrors"/> failures are
    /// left out of the answers; one more cancels the other calls and fails the read with
    /// <see cref="IngestersUnavailableException"/>, as does a ring with too few healthy ingesters to start with. The
    /// caller's cancellation cancels all calls.
    /// </summary>
    private async Task<List<(InstanceDesc Instance, T Answer)>> FanOutAsync<T>(
        string tenantId,
        RingReadSet members,
        ReplicationSet calls,
        List<IngesterReadException> failures,
        Func<InstanceDesc, IngesterService.IngesterServiceClient, CallOptions, Task<T>> call,
        CancellationToken cancellationToken,
        bool untilQuorum = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenantId);
        if (!members.Sufficient)
        {
            throw new IngestersUnavailableException(members, failures);
        }
        var instances = calls.Instances;
        if (instances.Count == 0)
        {
            return [];
        }
        using var failFast = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var budget = new FailureBudget(calls.MaxErrors, failFast);
        var quorum = new QuorumReached(untilQuorum ? calls.MinSuccess : int.MaxValue, failFast);
        var headers = new Metadata { { OrgIdHeader.GrpcKey, tenantId } };
        var deadline = DateTime.UtcNow + CallTimeout;
        var tasks = new Task<(InstanceDesc, T?, bool)>[instances.Count];
        for (var i = 0; i < tasks.Length; i++)
        {
            tasks[i] = CallOneAsync(instances[i], call, new CallOptions(headers, deadline, failFast.Token), budget, quorum, cancellationToken);
        }
        (InstanceDesc Instance, T? Answer, bool Ok)[] outcomes;
        try
        {
            outcomes = await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        catch (Exception e) when (cancellationToken.IsCancellationRequested && e is not OperationCanceledException)
        {
            // gRPC reports the caller's cancellation as a Cancelled status; callers expect the standard exception.
            throw new OperationCanceledException("the read from the ingesters was cancelled", e, cancellationToken);
        }
        foreach (var failure in budget.Failures)
        {
            failures.Add((IngesterReadException)failure);
        }
        if (budget.Exceeded)
        {
            throw new IngestersUnavailableException(members, failures, NotWaitedFor(outcomes, failures));
        }
        var answers = new List<(InstanceDesc, T)>(outcomes.Length);
        foreach (var (instance, answer, ok) in outcomes)
        {
            if (ok)
            {
                answers.Add((instance, answer!));
            }
        }
        return answers;
    }

    /// <summary>The called members that neither answered nor failed: cancelled once the read could no longer be complete.</summary>
    private static List<InstanceDesc> NotWaitedFor<T>((InstanceDesc Instance, T? Answer, bool Ok)[] outcomes, List<IngesterReadException> failures)
    {
        var cancelled = new List<InstanceDesc>();
        foreach (var (instance, _, ok) in outcomes)
        {
            if (!ok && !failures.Exists(f => f.InstanceId == instance.Id))
            {
                cancelled.Add(instance);
            }
        }
        return cancelled;
    }

    private async Task<(InstanceDesc, T?, bool)> CallOneAsync<T>(
        InstanceDesc instance,
        Func<InstanceDesc, IngesterService.IngesterServiceClient, CallOptions, Task<T>> call,
        CallOptions options,
        FailureBudget budget,
        QuorumReached quorum,
        CancellationToken cancellationToken)
    {
        try
        {
            var answer = await call(instance, channels.GetClient(instance.GrpcAddr), options).ConfigureAwait(false);
            quorum.Succeeded();
            return (instance, answer, true);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            if (!quorum.IsReached)
            {
                // After the quorum the remaining calls are cancelled on purpose: not failures.
                budget.Record(new IngesterReadException(instance.Id, instance.GrpcAddr, e));
            }
            return (instance, default, false);
        }
    }

    /// <summary>
    /// Deadline of one call: a member that does not answer within a heartbeat timeout is treated as the ring would treat
    /// it (a frozen process still looks healthy until then), so a read never waits on it for longer than that.
    /// </summary>
    private TimeSpan CallTimeout => ring.HeartbeatTimeout < RemoteTimeout ? ring.HeartbeatTimeout : RemoteTimeout;

    /// <summary>
    /// Counts the successful calls of one fan-out and cancels the others once enough answered, as dskit's DoUntilQuorum:
    /// every acknowledged profile is on enough of the answering members, and one slow or frozen member must not hold up
    /// every read.
    /// </summary>
    private sealed class QuorumReached(int minSuccess, CancellationTokenSource others)
    {
        private int _succeeded;
        private volatile bool _reached;

        public bool IsReached => _reached;

        public void Succeeded()
        {
            if (Interlocked.Increment(ref _succeeded) >= minSuccess && !_reached)
            {
                _reached = true;
                others.Cancel();
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

/// <summary>A read from one ingester failed (the read as a whole fails only beyond the failure budget).</summary>
public sealed class IngesterReadException(string instanceId, string address, Exception inner)
    : Exception($"{instanceId} ({address}) failed: {CauseOf(inner)}", inner)
{
    /// <summary>Why the call failed, without the ingester's name.</summary>
    public string Cause => CauseOf(InnerException!);

    private static string CauseOf(Exception inner) => inner is RpcException rpc ? $"{rpc.StatusCode} {rpc.Status.Detail}" : inner.Message;

    public string InstanceId { get; } = instanceId;

    public string Address { get; } = address;
}

/// <summary>
/// Too few ingesters answered (or could be asked) for a read to include every acknowledged profile: the message
/// names each missing ingester and why (unhealthy in the ring, its call failed, or it was still to answer when the read
/// could no longer be complete). Answered with 503 unavailable.
/// </summary>
public sealed class IngestersUnavailableException(
    RingReadSet members, IReadOnlyList<IngesterReadException> failures, IReadOnlyList<InstanceDesc>? notWaitedFor = null)
    : UnavailableException(
        "cannot read the ingesters: " + members.Shortfall(failures.Select(static f => f.Message).ToList(), notWaitedFor),
        failures.Count > 0 ? failures[0] : null)
{
    public RingReadSet Members { get; } = members;

    /// <summary>The calls that failed, in order.</summary>
    public IReadOnlyList<IngesterReadException> Failures { get; } = failures;

    /// <summary>
    /// Every ingester the read could not see: unhealthy members, failed calls, calls cancelled unanswered, and healthy
    /// members left uncalled because the others could not make the read complete.
    /// </summary>
    public IReadOnlyList<string> MissingInstanceIds { get; } =
    [
        .. members.Unreadable.Select(static u => u.Member.Id), .. failures.Select(static f => f.InstanceId),
        .. (notWaitedFor ?? []).Select(static m => m.Id), .. members.NotAsked.Select(static m => m.Id),
    ];
}
