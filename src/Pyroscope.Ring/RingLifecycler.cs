using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Pyroscope.Ring.Kv;

namespace Pyroscope.Ring;

/// <summary>
/// Keeps one instance (an ingester) in the ring: joins with tokens (JOINING, then ACTIVE) once the process serves
/// (<c>serving</c>: the host has started, so its gRPC port answers when distributors first see it ACTIVE), heartbeats
/// every heartbeat period, and on a graceful stop goes LEAVING, hands its data over (<see cref="IRingLeaveHandOver"/>)
/// and leaves a LEFT tombstone, or, when the hand-over failed, stays LEAVING and expires like a crashed member, so
/// readers keep counting its data as missing. KV failures are logged and retried on the next tick; an instance found
/// missing (forgotten by an operator) re-registers itself. <see cref="DisposeAsync"/> without <see cref="StopAsync"/>
/// stops heartbeating but leaves the entry, as a crash would.
/// </summary>
public sealed class RingLifecycler(
    IRingKvStore kv,
    RingOptions options,
    RingInstanceInfo instance,
    TimeProvider timeProvider,
    ILogger<RingLifecycler> logger,
    IRingLeaveHandOver? handOver = null,
    Task? serving = null) : IHostedService, IAsyncDisposable, IDisposable
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

    /// <summary>
    /// Registers (one attempt; the heartbeat loop keeps retrying on failure) and starts heartbeating. While the process
    /// does not serve yet, returns at once and the loop registers as soon as it does.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_loop is not null)
        {
            throw new InvalidOperationException($"Lifecycler for {instance.Id} is already started.");
        }
        if (serving is null || serving.IsCompleted)
        {
            try
            {
                await RegisterAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                logger.LogWarning(e, "Ring lifecycler {Instance}: joining the ring failed; retrying every {Period}", instance.Id, RetryPeriod);
            }
        }
        _loop = Task.Run(() => HeartbeatLoopAsync(_stopping.Token), CancellationToken.None);
    }

    /// <summary>
    /// Goes LEAVING (distributors stop writing here; reads still come), hands the data over while still heartbeating,
    /// then stops heartbeating and becomes a LEFT tombstone, or stays LEAVING when the hand-over failed.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (!_registered)
        {
            await StopLoopAsync().ConfigureAwait(false);
            return;
        }
        try
        {
            await UpdateSelfAsync(desc => desc.State = InstanceState.Leaving, cancellationToken).ConfigureAwait(false);
            State = InstanceState.Leaving;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning(e, "Ring lifecycler {Instance}: marking itself LEAVING failed", instance.Id);
        }
        var handedOver = await HandOverAsync(cancellationToken).ConfigureAwait(false);
        await StopLoopAsync().ConfigureAwait(false);
        if (!handedOver)
        {
            logger.LogWarning("Ring lifecycler {Instance}: not everything it holds reached the object store, so it stays in the ring " +
                "and turns unhealthy after {Timeout}: readers count its data as missing until it is restarted and uploads it", instance.Id, options.HeartbeatTimeout);
            return;
        }
        try
        {
            await UpdateSelfAsync(desc => desc.State = InstanceState.Left, cancellationToken).ConfigureAwait(false);
            State = InstanceState.Left;
            _registered = false;
            logger.LogInformation("Ring lifecycler {Instance}: left the ring (LEFT: readers take its data from the object store)", instance.Id);
        }
        catch (Exception e)
        {
            // The entry stays LEAVING and expires after heartbeat_timeout: readers count it as missing, never as empty.
            logger.LogWarning(e, "Ring lifecycler {Instance}: leaving the ring failed; its entry will expire", instance.Id);
        }
    }

    private async Task<bool> HandOverAsync(CancellationToken cancellationToken)
    {
        if (handOver is null)
        {
            return true;
        }
        try
        {
            return await handOver.HandOverAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Ring lifecycler {Instance}: handing its data over before leaving failed", instance.Id);
            return false;
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
        if (!_registered && serving is { IsCompleted: false })
        {
            try
            {
                await serving.WaitAsync(stoppingToken).ConfigureAwait(false);
                await RegisterAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Ring lifecycler {Instance}: joining the ring failed; retrying every {Period}", instance.Id, RetryPeriod);
            }
        }
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
            // A new registration time tells clients that a new process holds the id: they reconnect at once.
            ring.Instances[instance.Id] = Describe(InstanceState.Joining, now, now);
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
