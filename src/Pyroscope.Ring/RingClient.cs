using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Pyroscope.Ring.Kv;

namespace Pyroscope.Ring;

/// <summary>Read side of the ring, for distributors (replication sets) and queriers (all healthy members).</summary>
public interface IRing
{
    /// <summary>The latest descriptor seen, ready for lookups.</summary>
    RingSnapshot Current { get; }

    int ReplicationFactor { get; }

    TimeSpan HeartbeatTimeout { get; }

    /// <summary>Current time in unix milliseconds, as used for heartbeat health.</summary>
    long NowMs { get; }

    /// <summary>The healthy members that <paramref name="token"/> replicates to; throws <see cref="RingUnavailableException"/> without a quorum.</summary>
    ReplicationSet GetReplicationSet(uint token, int replicationFactor, RingOperation operation = RingOperation.Write);

    /// <summary>Every healthy member (reads: ACTIVE and LEAVING; writes: ACTIVE).</summary>
    IReadOnlyList<InstanceDesc> GetAllHealthy(RingOperation operation = RingOperation.Read);
}

/// <summary>
/// Caches the ring descriptor and refreshes it whenever the KV store reports a change (plus polling).
/// Host it as a hosted service, or call <see cref="RefreshAsync"/> yourself.
/// </summary>
public sealed class RingClient(IRingKvStore kv, RingOptions options, TimeProvider timeProvider, ILogger<RingClient> logger)
    : BackgroundService, IRing
{
    private RingSnapshot _current = RingSnapshot.Empty;

    public RingSnapshot Current => Volatile.Read(ref _current);

    public int ReplicationFactor => options.ReplicationFactor;

    public TimeSpan HeartbeatTimeout => options.HeartbeatTimeout;

    public long NowMs => timeProvider.GetUtcNow().ToUnixTimeMilliseconds();

    public ReplicationSet GetReplicationSet(uint token, int replicationFactor, RingOperation operation = RingOperation.Write)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(replicationFactor);
        var snapshot = Current;
        Span<int> replicas = replicationFactor <= 32 ? stackalloc int[replicationFactor] : new int[replicationFactor];
        var found = snapshot.GetReplicas(token, replicationFactor, operation, NowMs, options.HeartbeatTimeout, replicas);
        var minSuccess = Replication.WriteQuorum(replicationFactor);
        if (found < minSuccess)
        {
            throw new RingUnavailableException(
                $"at least {minSuccess} live replicas required, could only find {found} (ring has {snapshot.Instances.Count} members, replication factor {replicationFactor})");
        }
        var instances = new InstanceDesc[found];
        for (var i = 0; i < found; i++)
        {
            instances[i] = snapshot.Instances[replicas[i]];
        }
        return new ReplicationSet(instances, minSuccess);
    }

    public IReadOnlyList<InstanceDesc> GetAllHealthy(RingOperation operation = RingOperation.Read)
    {
        var snapshot = Current;
        var now = NowMs;
        var healthy = new List<InstanceDesc>(snapshot.Instances.Count);
        for (var i = 0; i < snapshot.Instances.Count; i++)
        {
            if (snapshot.IsHealthy(i, operation, now, options.HeartbeatTimeout))
            {
                healthy.Add(snapshot.Instances[i]);
            }
        }
        return healthy;
    }

    /// <summary>Reads the ring now; returns the snapshot in force afterwards.</summary>
    public async Task<RingSnapshot> RefreshAsync(CancellationToken cancellationToken)
    {
        var (version, descriptor) = await kv.GetRingAsync(options.Key, cancellationToken).ConfigureAwait(false);
        var current = Current;
        if (version != current.Version || version == 0)
        {
            current = new RingSnapshot(version, descriptor);
            Volatile.Write(ref _current, current);
        }
        return current;
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await RefreshAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning(e, "Ring client: first read of {Key} failed; will keep retrying", options.Key);
        }
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await kv.WaitForChangeAsync(options.Key, Current.Version, stoppingToken).ConfigureAwait(false);
                await RefreshAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Ring client: watching {Key} failed; retrying in {Interval}", options.Key, options.PollInterval);
                await Task.Delay(options.PollInterval, timeProvider, stoppingToken).ConfigureAwait(false);
            }
        }
    }
}
