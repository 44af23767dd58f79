using Microsoft.Extensions.Logging.Abstractions;
using Pyroscope.Ring;
using Pyroscope.Ring.Kv;
using Pyroscope.Testing;

namespace Pyroscope.Ring.Tests;

/// <summary>Several lifecyclers, each with its own Redis connection (as separate processes would), on one real redis-server.</summary>
public sealed class RedisLifecyclerTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>, IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _cleanup = [];
    private readonly RingOptions _options = new()
    {
        Store = RingStore.Redis,
        Key = "test/" + Guid.NewGuid().ToString("N"),
        HeartbeatPeriod = TimeSpan.FromMilliseconds(100),
        // Generous against the period so a loaded CI machine does not expire live members.
        HeartbeatTimeout = TimeSpan.FromSeconds(3),
        PollInterval = TimeSpan.FromMilliseconds(100),
        NumTokens = 128,
        ReplicationFactor = 3,
    };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private RedisRingKvStore Store(string? address = null)
    {
        var store = new RedisRingKvStore(address ?? redis.Address, _options.PollInterval, NullLogger<RedisRingKvStore>.Instance);
        _cleanup.Add(store);
        return store;
    }

    private RingLifecycler Lifecycler(string id, string? address = null) =>
        new(Store(address), _options, new RingInstanceInfo(id, id + ":4040", id + ":9095"), TimeProvider.System, NullLogger<RingLifecycler>.Instance);

    private async Task<RingClient> StartedClientAsync()
    {
        var client = new RingClient(Store(), _options, TimeProvider.System, NullLogger<RingClient>.Instance);
        await client.StartAsync(Ct);
        _cleanup.Add(new AsyncStop(() => client.StopAsync(CancellationToken.None)));
        return client;
    }

    [Fact]
    public async Task Lifecyclers_see_each_other_expire_when_silent_and_leave_gracefully()
    {
        var lifecyclers = new[] { Lifecycler("ingester-a"), Lifecycler("ingester-b"), Lifecycler("ingester-c") };
        await Task.WhenAll(lifecyclers.Select(l => l.StartAsync(Ct)));
        var client = await StartedClientAsync();

        await Poll.UntilAsync(() => client.GetAllHealthy(RingOperation.Write).Count == 3, "all three members are ACTIVE and healthy");
        var snapshot = client.Current;
        var allTokens = new HashSet<uint>();
        foreach (var lifecycler in lifecyclers)
        {
            Assert.Equal(InstanceState.Active, lifecycler.State);
            var entry = snapshot.Instances.Single(i => i.Id == lifecycler.InstanceId);
            Assert.Equal(lifecycler.Tokens, entry.Tokens);
            Assert.Equal(128, entry.Tokens.Length);
            Assert.Equal(lifecycler.InstanceId + ":9095", entry.GrpcAddr);
            allTokens.UnionWith(entry.Tokens);
        }
        Assert.Equal(3 * 128, allTokens.Count);
        // With three members and RF=3, every key replicates to all of them.
        Assert.Equal(3, client.GetReplicationSet(12345, 3).Instances.Count);

        // Heartbeats keep moving.
        var firstBeat = snapshot.Instances[0].HeartbeatTimestampMs;
        await Poll.UntilAsync(() => client.Current.Instances.Single(i => i.Id == "ingester-a").HeartbeatTimestampMs > firstBeat, "ingester-a heartbeats again");

        // A process that stops heartbeating (crash: no leave) stays listed but turns unhealthy.
        await lifecyclers[0].DisposeAsync();
        await Poll.UntilAsync(() => !client.GetAllHealthy().Any(i => i.Id == "ingester-a"), "ingester-a's heartbeat expires");
        Assert.Contains(client.Current.Instances, i => i.Id == "ingester-a");
        await Poll.UntilAsync(
            () => client.GetReplicationSet(12345, 3).Instances.Select(i => i.Id).Order().SequenceEqual(["ingester-b", "ingester-c"]),
            "the replication set is the two live members");
        Assert.Equal(2, client.GetReplicationSet(12345, 3).MinSuccess);

        // A graceful stop leaves a LEFT tombstone: no key range, no writes, its data counted as in the store.
        await lifecyclers[1].StopAsync(Ct);
        await Poll.UntilAsync(() => client.Current.Instances.Any(i => i.Id == "ingester-b" && i.State == InstanceState.Left), "ingester-b is LEFT");
        await Poll.UntilAsync(() => client.GetAllHealthy().Select(i => i.Id).SequenceEqual(["ingester-c"]), "only ingester-c is healthy");
        Assert.Throws<RingUnavailableException>(() => client.GetReplicationSet(12345, 3));
        Assert.Equal(["ingester-b"], Replication.ForRead(client).Left.Select(l => l.Id));

        await lifecyclers[2].StopAsync(Ct);
        await Poll.UntilAsync(() => client.Current.Instances.All(i => i.Id != "ingester-c" || i.State == InstanceState.Left), "ingester-c is LEFT");
    }

    [Fact]
    public async Task A_lifecycler_started_while_redis_is_down_joins_once_it_is_up()
    {
        var port = RedisServerFixture.FreePort();
        var lifecycler = Lifecycler("late", $"127.0.0.1:{port}");
        await lifecycler.StartAsync(Ct); // must not throw: the KV outage is logged and retried
        Assert.False(lifecycler.IsRegistered);

        var server = await RedisServerFixture.StartAsync(port);
        try
        {
            await Poll.UntilAsync(() => lifecycler.IsRegistered, "the lifecycler registers after Redis comes up", timeoutSeconds: 30);
            var (_, ring) = await Store($"127.0.0.1:{port}").GetRingAsync(_options.Key, Ct);
            Assert.Equal(InstanceState.Active, ring.Instances["late"].State);
            await lifecycler.StopAsync(Ct);
        }
        finally
        {
            await RedisServerFixture.StopAsync(server);
        }
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _cleanup.Count - 1; i >= 0; i--)
        {
            await _cleanup[i].DisposeAsync();
        }
    }

    private sealed class AsyncStop(Func<Task> stop) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await stop();
    }
}

public sealed class InMemoryLifecyclerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly RingOptions Options = new()
    {
        HeartbeatPeriod = TimeSpan.FromMilliseconds(50),
        HeartbeatTimeout = TimeSpan.FromSeconds(10),
        NumTokens = 16,
    };

    private static RingLifecycler Lifecycler(IRingKvStore kv, string id, IRingLeaveHandOver? handOver = null) =>
        new(kv, Options, new RingInstanceInfo(id, id + ":4040", id + ":9095", "zone-a"), TimeProvider.System, NullLogger<RingLifecycler>.Instance, handOver);

    [Fact]
    public async Task Goes_joining_active_leaving_then_left_after_handing_over()
    {
        var kv = new StateRecordingKv(new InMemoryRingKvStore(), "solo");
        var handOver = new RecordingHandOver(kv, "solo", succeeds: true);
        var lifecycler = Lifecycler(kv, "solo", handOver);
        await lifecycler.StartAsync(Ct);
        Assert.Equal(InstanceState.Active, lifecycler.State);
        await lifecycler.StopAsync(Ct);

        var distinct = kv.States.Where((s, i) => i == 0 || kv.States[i - 1] != s).ToList();
        Assert.Equal(["JOINING", "ACTIVE", "LEAVING", "LEFT"], distinct);
        // The hand-over ran while the member was LEAVING, before the tombstone.
        Assert.Equal("LEAVING", handOver.StateDuringHandOver);
        var (_, ring) = await kv.GetRingAsync(Options.Key, Ct);
        Assert.Equal(InstanceState.Left, ring.Instances["solo"].State);
        Assert.Equal(lifecycler.Tokens, ring.Instances["solo"].Tokens);
    }

    [Fact]
    public async Task A_failed_hand_over_leaves_the_member_leaving_to_expire_and_a_restart_takes_its_tokens_back()
    {
        var kv = new StateRecordingKv(new InMemoryRingKvStore(), "ingester-0");
        var lifecycler = Lifecycler(kv, "ingester-0", new RecordingHandOver(kv, "ingester-0", succeeds: false));
        await lifecycler.StartAsync(Ct);
        var tokens = lifecycler.Tokens.ToArray();
        await lifecycler.StopAsync(Ct);

        var (_, ring) = await kv.GetRingAsync(Options.Key, Ct);
        Assert.Equal(InstanceState.Leaving, ring.Instances["ingester-0"].State);
        Assert.DoesNotContain("LEFT", kv.States);

        var restarted = Lifecycler(kv, "ingester-0");
        await restarted.StartAsync(Ct);
        Assert.Equal(tokens, restarted.Tokens);
        (_, ring) = await kv.GetRingAsync(Options.Key, Ct);
        Assert.Equal(InstanceState.Active, ring.Instances["ingester-0"].State);
        await restarted.StopAsync(Ct);
    }

    [Fact]
    public async Task Joins_only_once_the_host_serves()
    {
        var kv = new InMemoryRingKvStore();
        var serving = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var lifecycler = new RingLifecycler(kv, Options, new RingInstanceInfo("late", "late:4040", "late:9095"), TimeProvider.System,
            NullLogger<RingLifecycler>.Instance, serving: serving.Task);
        await lifecycler.StartAsync(Ct);
        Assert.False(lifecycler.IsRegistered);
        Assert.Empty((await kv.GetRingAsync(Options.Key, Ct)).Descriptor.Instances);

        serving.SetResult();
        await Poll.UntilAsync(() => lifecycler.IsRegistered, "the lifecycler joins once the host serves");
        Assert.Equal(InstanceState.Active, (await kv.GetRingAsync(Options.Key, Ct)).Descriptor.Instances["late"].State);
        await lifecycler.StopAsync(Ct);
    }

    [Fact]
    public async Task A_restart_under_the_same_id_keeps_its_tokens_and_a_forgotten_member_comes_back()
    {
        var kv = new InMemoryRingKvStore();
        var first = Lifecycler(kv, "ingester-0");
        await first.StartAsync(Ct);
        var tokens = first.Tokens.ToArray();
        await first.DisposeAsync(); // crash: entry stays

        var second = Lifecycler(kv, "ingester-0");
        await second.StartAsync(Ct);
        Assert.Equal(tokens, second.Tokens);

        // An operator "forgets" it (as the /ring page does); the next heartbeat re-adds it.
        await kv.CasRingAsync(Options.Key, ring => ring.Instances.Remove("ingester-0"), Ct);
        await Poll.UntilAsync(async () => (await kv.GetRingAsync(Options.Key, Ct)).Descriptor.Instances.ContainsKey("ingester-0"), "the member re-adds itself");
        var (_, ring) = await kv.GetRingAsync(Options.Key, Ct);
        Assert.Equal(tokens, ring.Instances["ingester-0"].Tokens);
        Assert.Equal("zone-a", ring.Instances["ingester-0"].Zone);
        await second.StopAsync(Ct);
    }

    [Fact]
    public async Task Members_dead_for_many_heartbeat_timeouts_are_forgotten()
    {
        var kv = new InMemoryRingKvStore();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await kv.CasRingAsync(Options.Key, ring =>
        {
            // Options: timeout 10s, forget after 10 timeouts = 100s.
            ring.Instances["long-dead"] = TestRings.Instance("long-dead", [1], now - 101_000);
            ring.Instances["recently-dead"] = TestRings.Instance("recently-dead", [2], now - 60_000);
            return true;
        }, Ct);
        var lifecycler = Lifecycler(kv, "live");
        await lifecycler.StartAsync(Ct);
        await Poll.UntilAsync(async () => !(await kv.GetRingAsync(Options.Key, Ct)).Descriptor.Instances.ContainsKey("long-dead"), "the long-dead member is forgotten");
        var (_, ring) = await kv.GetRingAsync(Options.Key, Ct);
        Assert.Equal(["live", "recently-dead"], ring.Instances.Keys.Order());
        await lifecycler.StopAsync(Ct);
    }

    [Fact]
    public async Task Ring_client_follows_changes_without_polling_delay()
    {
        var kv = new InMemoryRingKvStore();
        var client = new RingClient(kv, Options, TimeProvider.System, NullLogger<RingClient>.Instance);
        await client.StartAsync(Ct);
        try
        {
            Assert.Empty(client.Current.Instances);
            var lifecycler = Lifecycler(kv, "ingester-0");
            await lifecycler.StartAsync(Ct);
            await Poll.UntilAsync(() => client.GetAllHealthy().Count == 1, "the client sees the new member");
            await lifecycler.StopAsync(Ct);
            await Poll.UntilAsync(() => client.Current.Instances.Single().State == InstanceState.Left, "the client sees the member leave");
        }
        finally
        {
            await client.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>A hand-over that records the member's state in the ring while it runs.</summary>
    private sealed class RecordingHandOver(IRingKvStore kv, string instanceId, bool succeeds) : IRingLeaveHandOver
    {
        public string? StateDuringHandOver { get; private set; }

        public async Task<bool> HandOverAsync(CancellationToken cancellationToken)
        {
            var (_, ring) = await kv.GetRingAsync(Options.Key, cancellationToken);
            StateDuringHandOver = ring.Instances[instanceId].State.ToString().ToUpperInvariant();
            return succeeds;
        }
    }

    /// <summary>Records the state of one instance after every successful write.</summary>
    private sealed class StateRecordingKv(IRingKvStore inner, string instanceId) : IRingKvStore
    {
        public List<string> States { get; } = [];

        public Task<KvEntry> GetAsync(string key, CancellationToken cancellationToken) => inner.GetAsync(key, cancellationToken);

        public async Task<long?> TryCompareAndSwapAsync(string key, long expectedVersion, ReadOnlyMemory<byte> value, CancellationToken cancellationToken)
        {
            var result = await inner.TryCompareAndSwapAsync(key, expectedVersion, value, cancellationToken);
            if (result is not null)
            {
                var ring = RingDescriptor.Deserialize(value.Span);
                lock (States)
                {
                    States.Add(ring.Instances.TryGetValue(instanceId, out var desc) ? desc.State.ToString().ToUpperInvariant() : "removed");
                }
            }
            return result;
        }

        public Task WaitForChangeAsync(string key, long knownVersion, CancellationToken cancellationToken) =>
            inner.WaitForChangeAsync(key, knownVersion, cancellationToken);
    }
}
