using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Pyroscope.Ring.Kv;

namespace Pyroscope.Ring;

/// <summary>
/// Keeps one instance (an ingester) in the ring: joins with tokens (JOINING, then ACTIVE), heartbeats every
/// heartbeat period, and on a graceful stop goes LEAVING and removes itself. KV failures are logged and
/// retried on the next tick; an instance found missing (forgotten by an operator) re-registers itself.
/// <see cref="DisposeAsync"/> without <see cref="StopAsync"/> stops heartbeating but leaves the entry, as a crash would.
/// </summary>
public sealed class RingLifecycler(
    IRingKvStore kv,
    RingOptions options,
    RingInstanceInfo instance,
    TimeProvider timeProvider,
    ILogger<RingLifecycler> logger) : IHostedService, IAsyncDisposable, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private Task? _loop;
    private uint[] _tokens = [];
    private volatile bool _registered;

    public string InstanceId => instance.Id;

    public InstanceState State { get; private set; } = InstanceState.Joining;

    /// <summary>This instance's tokens (empty until registered).</summary>
    public IReadOnlyList<uint> Tokens => _tokens;

    public bool IsRegistered => _registered;

    /// <summary>Registers (one attempt; the heartbeat loop keeps retrying on failure) and starts heartbeating.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_loop is not null)
        {
            throw new InvalidOperationException($"Lifecycler for {instance.Id} is already started.");
        }
        try
        {
            await RegisterAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning(e, "Ring lifecycler {Instance}: joining the ring failed; retrying every {Period}", instance.Id, RetryPeriod);
        }
        _loop = Task.Run(() => HeartbeatLoopAsync(_stopping.Token), CancellationToken.None);
    }

    /// <summary>Stops heartbeating, marks the instance LEAVING, then removes it from the ring.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await StopLoopAsync().ConfigureAwait(false);
        if (!_registered)
        {
            return;
        }
        try
        {
            await UpdateSelfAsync(desc => desc.State = InstanceState.Leaving, cancellationToken).ConfigureAwait(false);
            State = InstanceState.Leaving;
            await kv.CasRingAsync(options.Key, ring => ring.Instances.Remove(instance.Id), cancellationToken).ConfigureAwait(false);
            _registered = false;
            logger.LogInformation("Ring lifecycler {Instance}: left the ring", instance.Id);
        }
        catch (Exception e)
        {
            // The entry stays behind and expires after heartbeat_timeout; nothing else to do on the way out.
            logger.LogWarning(e, "Ring lifecycler {Instance}: leaving the ring failed; its entry will expire", instance.Id);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopLoopAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    /// <summary>Stops heartbeating without waiting for the loop (containers dispose synchronously).</summary>
    public void Dispose()
    {
        if (!_stopping.IsCancellationRequested)
        {
            _stopping.Cancel();
        }
    }

    private TimeSpan RetryPeriod => options.HeartbeatPeriod < TimeSpan.FromSeconds(1) ? options.HeartbeatPeriod : TimeSpan.FromSeconds(1);

    private async Task StopLoopAsync()
    {
        if (!_stopping.IsCancellationRequested)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }
        if (_loop is { } loop)
        {
            await loop.ConfigureAwait(false);
        }
    }

    private async Task HeartbeatLoopAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_registered ? options.HeartbeatPeriod : RetryPeriod, timeProvider, stoppingToken).ConfigureAwait(false);
                if (_registered)
                {
                    await HeartbeatAsync(stoppingToken).ConfigureAwait(false);
                }
                else
                {
                    await RegisterAsync(stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Ring lifecycler {Instance}: updating the ring failed; retrying", instance.Id);
            }
        }
    }

    private async Task RegisterAsync(CancellationToken cancellationToken)
    {
        await kv.CasRingAsync(options.Key, ring =>
        {
            var now = NowMs;
            if (ring.Instances.TryGetValue(instance.Id, out var existing) && existing.Tokens.Length > 0)
            {
                // A restart under the same id keeps its tokens, so the series it owns do not move.
                _tokens = existing.Tokens;
            }
            else if (_tokens.Length == 0)
            {
                var taken = new HashSet<uint>();
                foreach (var other in ring.Instances.Values)
                {
                    taken.UnionWith(other.Tokens);
                }
                _tokens = RingTokens.Generate(options.NumTokens, taken);
            }
            ring.Instances[instance.Id] = Describe(InstanceState.Joining, now, existing?.RegisteredTimestampMs ?? now);
            return true;
        }, cancellationToken).ConfigureAwait(false);
        State = InstanceState.Joining;

        // Tokens are generated locally, so there is nothing to wait for before serving writes.
        await UpdateSelfAsync(desc => desc.State = InstanceState.Active, cancellationToken).ConfigureAwait(false);
        State = InstanceState.Active;
        _registered = true;
        logger.LogInformation("Ring lifecycler {Instance}: ACTIVE with {Tokens} tokens", instance.Id, _tokens.Length);
    }

    private Task HeartbeatAsync(CancellationToken cancellationToken) =>
        UpdateSelfAsync(_ => { }, cancellationToken, forgetDead: true);

    /// <summary>Removes members that stopped heartbeating long ago (crashed and never coming back under that id).</summary>
    private void ForgetDeadMembers(RingDescriptor ring, long nowMs)
    {
        if (options.AutoForgetUnhealthyPeriods <= 0)
        {
            return;
        }
        var forgetAfter = options.HeartbeatTimeout * options.AutoForgetUnhealthyPeriods;
        List<string>? dead = null;
        foreach (var (id, desc) in ring.Instances)
        {
            if (id != instance.Id && !desc.IsHeartbeatFresh(nowMs, forgetAfter))
            {
                (dead ??= []).Add(id);
            }
        }
        if (dead is null)
        {
            return;
        }
        foreach (var id in dead)
        {
            ring.Instances.Remove(id);
            logger.LogWarning("Ring lifecycler {Instance}: forgot {Dead}, unhealthy for more than {After}", instance.Id, id, forgetAfter);
        }
    }

    /// <summary>Refreshes this instance's entry (re-adding it if it vanished) and applies <paramref name="change"/>.</summary>
    private Task UpdateSelfAsync(Action<InstanceDesc> change, CancellationToken cancellationToken, bool forgetDead = false) =>
        kv.CasRingAsync(options.Key, ring =>
        {
            var now = NowMs;
            if (forgetDead)
            {
                ForgetDeadMembers(ring, now);
            }
            if (!ring.Instances.TryGetValue(instance.Id, out var desc))
            {
                logger.LogWarning("Ring lifecycler {Instance}: entry missing from the ring, re-adding it", instance.Id);
                desc = Describe(State, now, now);
                ring.Instances[instance.Id] = desc;
            }
            desc.HeartbeatTimestampMs = now;
            desc.Addr = instance.Addr;
            desc.GrpcAddr = instance.GrpcAddr;
            desc.Zone = instance.Zone;
            desc.Tokens = _tokens;
            change(desc);
            return true;
        }, cancellationToken);

    private InstanceDesc Describe(InstanceState state, long nowMs, long registeredMs) => new()
    {
        Id = instance.Id,
        Addr = instance.Addr,
        GrpcAddr = instance.GrpcAddr,
        Zone = instance.Zone,
        State = state,
        Tokens = _tokens,
        HeartbeatTimestampMs = nowMs,
        RegisteredTimestampMs = registeredMs,
    };

    private long NowMs => timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
}
