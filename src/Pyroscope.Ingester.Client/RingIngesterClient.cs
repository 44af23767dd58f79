using System.Buffers;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Formats.Normalization;
using Pyroscope.Model;
using Pyroscope.Model.Ingest;
using Pyroscope.Ring;

namespace Pyroscope.Ingester.Client;

/// <summary>
/// Distributor → ingesters over gRPC, placed by the ring: each series goes to its replication set (token =
/// fingerprint folded to 32 bits), one Push per ingester carries all of that ingester's series, and the write
/// succeeds once a quorum (rf/2+1) of every series' replicas acknowledged it. Slower replicas keep going in
/// the background after the quorum is reached.
/// </summary>
public sealed class RingIngesterClient(IRing ring, IngesterChannelPool channels, ILogger<RingIngesterClient> logger) : IIngesterClient
{
    /// <summary>Deadline of one push to one ingester.</summary>
    public TimeSpan RemoteTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Sends the push as received (<see cref="WalRecordCodec.EncodeBody"/>, encoded once) to every ingester of a
    /// replication set of its series, each with the indexes of the series it stores; the ingester normalises it again
    /// exactly and logs the same bytes.
    /// </summary>
    public async Task PushAsync(string tenantId, IngestPush push, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenantId);
        var series = new List<NormalizedSeries>(push.SeriesCount);
        foreach (var (_, one) in push.Series())
        {
            series.Add(one);
        }
        if (series.Count == 0)
        {
            return;
        }
        var body = UnsafeByteOperations.UnsafeWrap(WalRecordCodec.EncodeBody(push));
        var routes = Route(series.Count, s => series[s].Labels.Fingerprint, s => Describe(series[s].Labels));
        var batch = new Batch(routes.Trackers, s => Describe(series[s].Labels));
        foreach (var (instance, seriesIndexes) in routes.PerInstance)
        {
            var request = new PushRequest { Received = body };
            foreach (var s in seriesIndexes)
            {
                request.ReceivedSeries.Add((uint)s);
            }
            _ = PushToInstanceAsync(instance, tenantId, request, seriesIndexes, batch, cancellationToken);
        }
        await CompleteAsync(batch, cancellationToken).ConfigureAwait(false);
    }

    public async Task PushAsync(string tenantId, PushRequest request, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenantId);
        var seriesCount = request.Series.Count;
        if (seriesCount == 0)
        {
            return;
        }
        var routes = Route(seriesCount, s => request.Series[s].Fingerprint != 0 ? request.Series[s].Fingerprint : FingerprintOf(request.Series[s]), s => Describe(request.Series[s]));
        var batch = new Batch(routes.Trackers, s => Describe(request.Series[s]));
        foreach (var (instance, seriesIndexes) in routes.PerInstance)
        {
            PushRequest subRequest;
            if (seriesIndexes.Count == seriesCount)
            {
                subRequest = request;
            }
            else
            {
                subRequest = new PushRequest();
                foreach (var s in seriesIndexes)
                {
                    subRequest.Series.Add(request.Series[s]);
                }
            }
            _ = PushToInstanceAsync(instance, tenantId, subRequest, seriesIndexes, batch, cancellationToken);
        }
        await CompleteAsync(batch, cancellationToken).ConfigureAwait(false);
    }

    private sealed record Routes(SeriesTracker[] Trackers, List<(InstanceDesc Instance, List<int> Series)> PerInstance);

    /// <summary>Per series its replicas (token = fingerprint folded to 32 bits); per instance the series it receives.</summary>
    private Routes Route(int seriesCount, Func<int, ulong> fingerprintOf, Func<int, string> describe)
    {
        var snapshot = ring.Current;
        channels.EvictDeparted(snapshot);
        var replicationFactor = ring.ReplicationFactor;
        var minSuccess = Replication.WriteQuorum(replicationFactor);
        var now = ring.NowMs;
        var trackers = new SeriesTracker[seriesCount];
        var perInstance = new List<int>?[snapshot.Instances.Count];
        var replicas = ArrayPool<int>.Shared.Rent(replicationFactor);
        try
        {
            for (var s = 0; s < seriesCount; s++)
            {
                var token = RingTokens.FromFingerprint(fingerprintOf(s));
                var found = snapshot.GetReplicas(token, replicationFactor, RingOperation.Write, now, ring.HeartbeatTimeout, replicas.AsSpan(0, replicationFactor));
                if (found < minSuccess)
                {
                    var unhealthy = Replication.DescribeUnhealthy(ring, RingOperation.Write);
                    throw new RingUnavailableException(
                        $"cannot push series {describe(s)}: at least {minSuccess} live replicas required, could only find {found} " +
                        $"(ring has {snapshot.Instances.Count} members, replication factor {replicationFactor})" + (unhealthy.Length > 0 ? ": " + unhealthy : ""));
                }
                trackers[s] = new SeriesTracker { Remaining = minSuccess, MaxFailures = found - minSuccess };
                for (var r = 0; r < found; r++)
                {
                    (perInstance[replicas[r]] ??= []).Add(s);
                }
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(replicas);
        }
        var routes = new List<(InstanceDesc, List<int>)>();
        for (var i = 0; i < perInstance.Length; i++)
        {
            if (perInstance[i] is { } seriesIndexes)
            {
                routes.Add((snapshot.Instances[i], seriesIndexes));
            }
        }
        return new Routes(trackers, routes);
    }

    private static async Task CompleteAsync(Batch batch, CancellationToken cancellationToken)
    {
        try
        {
            await batch.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IngesterQuorumException e) when (ClientError(e) is { } refusal)
        {
            // The request's problem, not an unavailable ingester: the client hears what to change instead of a 503.
            throw refusal;
        }
    }

    // grpc-dotnet's wording for both directions ("Received message exceeds …", "Sending message exceeds …").
    private const string MessageSizeRefusal = "exceeds the maximum configured message size";

    /// <summary>
    /// What the first ingester that answered ResourceExhausted refused: the push's size (the gRPC transport's message
    /// limit) or a new series (the series limit, our ingesters' only other ResourceExhausted); null if none did.
    /// </summary>
    private static Exception? ClientError(IngesterQuorumException quorum)
    {
        foreach (var failure in quorum.Failures)
        {
            if (failure.InnerException is not RpcException { StatusCode: StatusCode.ResourceExhausted } rpc)
            {
                continue;
            }
            if (rpc.Status.Detail.Contains(MessageSizeRefusal, StringComparison.Ordinal))
            {
                return new PushTooLargeForIngesterException(
                    $"the push is larger than ingester {failure.InstanceId} ({failure.Address}) takes in one gRPC message: {rpc.Status.Detail} " +
                    $"Raise {PushTooLargeForIngesterException.ReceiveLimitFlag} on the ingesters (upstream's default: 100 MiB) " +
                    "or lower the distributor's profile size limits below it.");
            }
            return new SeriesLimitExceededException(rpc.Status.Detail);
        }
        return null;
    }

    private async Task PushToInstanceAsync(InstanceDesc instance, string tenantId, PushRequest request, List<int> seriesIndexes, Batch batch, CancellationToken cancellationToken)
    {
        Exception? failure = null;
        try
        {
            var client = channels.GetClient(instance.GrpcAddr);
            var headers = new Metadata { { OrgIdHeader.GrpcKey, tenantId } };
            await client.PushAsync(request, headers, DateTime.UtcNow + RemoteTimeout, cancellationToken).ResponseAsync.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            failure = new IngesterPushFailure(instance.Id, instance.GrpcAddr, e);
            logger.LogDebug(e, "Push to ingester {Instance} ({Address}) failed", instance.Id, instance.GrpcAddr);
        }
        batch.Report(seriesIndexes, failure);
    }

    /// <summary>Fallback for callers that did not fill in the fingerprint: the same one the head index uses.</summary>
    private static ulong FingerprintOf(ProfileSeries series)
    {
        var labels = new Label[series.Labels.Count];
        for (var i = 0; i < labels.Length; i++)
        {
            labels[i] = new Label(series.Labels[i].Name, series.Labels[i].Value);
        }
        return LabelSet.From(labels).Fingerprint;
    }

    internal static string Describe(ProfileSeries series)
    {
        var labels = new List<Label>(series.Labels.Count);
        foreach (var label in series.Labels)
        {
            labels.Add(new Label(label.Name, label.Value));
        }
        return Describe(labels);
    }

    internal static string Describe(LabelSet labels) => Describe(labels.Labels.ToArray());

    private static string Describe(IEnumerable<Label> labels)
    {
        var text = new StringBuilder("{");
        foreach (var label in labels)
        {
            if (text.Length > 1)
            {
                text.Append(", ");
            }
            text.Append(label.Name).Append("=\"").Append(label.Value).Append('"');
        }
        return text.Append('}').ToString();
    }

    private struct SeriesTracker
    {
        public int Remaining;
        public int MaxFailures;
        public int Failures;
    }

    /// <summary>Quorum bookkeeping of one push, like dskit's DoBatch: done when every series has its quorum, failed as soon as one cannot.</summary>
    private sealed class Batch(SeriesTracker[] trackers, Func<int, string> describe)
    {
        private readonly Lock _lock = new();
        private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly List<Exception> _failures = [];
        private int _pendingSeries = trackers.Length;

        public Task Completion => _completion.Task;

        public void Report(List<int> seriesIndexes, Exception? failure)
        {
            lock (_lock)
            {
                if (_completion.Task.IsCompleted)
                {
                    return;
                }
                if (failure is not null)
                {
                    _failures.Add(failure);
                }
                foreach (var s in seriesIndexes)
                {
                    ref var tracker = ref trackers[s];
                    if (tracker.Remaining == 0)
                    {
                        continue;
                    }
                    if (failure is null)
                    {
                        if (--tracker.Remaining == 0 && --_pendingSeries == 0)
                        {
                            _completion.TrySetResult();
                            return;
                        }
                    }
                    else if (++tracker.Failures > tracker.MaxFailures)
                    {
                        _completion.TrySetException(new IngesterQuorumException(
                            $"push failed: series {describe(s)} cannot reach a quorum of its replicas ({tracker.Failures} failed, at most {tracker.MaxFailures} allowed): " +
                            string.Join("; ", _failures.Select(f => f.Message)),
                            [.. _failures]));
                        return;
                    }
                }
            }
        }
    }
}

/// <summary>One ingester's push failed.</summary>
public sealed class IngesterPushFailure(string instanceId, string address, Exception inner)
    : Exception($"ingester {instanceId} ({address}): {(inner is RpcException rpc ? $"{rpc.StatusCode} {rpc.Status.Detail}" : inner.Message)}", inner)
{
    public string InstanceId { get; } = instanceId;

    public string Address { get; } = address;

    /// <summary>The gRPC status, when the ingester answered (InvalidArgument means the profile was rejected, not the ingester down).</summary>
    public StatusCode? StatusCode { get; } = (inner as RpcException)?.StatusCode;
}

/// <summary>A write did not reach a quorum of replicas for at least one series.</summary>
public sealed class IngesterQuorumException(string message, IReadOnlyList<Exception> failures)
    : AggregateException(message, failures)
{
    public IReadOnlyList<IngesterPushFailure> Failures { get; } = [.. failures.OfType<IngesterPushFailure>()];
}
