using Microsoft.Extensions.Logging.Abstractions;
using Pyroscope.Ring;
using Pyroscope.Ring.Kv;

namespace Pyroscope.Ring.Tests;

public sealed class ReplicationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 2)]
    [InlineData(5, 3)]
    public void Write_quorum_is_a_majority_of_the_replication_factor(int replicationFactor, int expected) =>
        Assert.Equal(expected, Replication.WriteQuorum(replicationFactor));

    [Theory]
    // rf 3: every write is on 2 of its 3 replicas, so 2 of 3 members must answer.
    [InlineData(3, 3, 2)]
    [InlineData(5, 3, 4)]
    // rf 5 tolerates 2.
    [InlineData(5, 5, 3)]
    // rf 1: every profile is on one ingester, every member must answer.
    [InlineData(4, 1, 4)]
    // Fewer members than the replication factor count as missing ones.
    [InlineData(1, 3, 2)]
    [InlineData(2, 3, 2)]
    [InlineData(0, 3, 2)]
    [InlineData(0, 1, 1)]
    public void Read_needs_all_but_rf_over_2_of_max_members_rf_as_dskit(int members, int replicationFactor, int expected) =>
        Assert.Equal(expected, Replication.ReadRequired(members, replicationFactor));

    [Fact]
    public async Task A_read_goes_to_every_healthy_member_including_leaving_ones_with_the_remaining_budget()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var ring = await RingOfAsync(3,
            TestRings.Instance("a", [100], now),
            TestRings.Instance("b", [200], now, InstanceState.Leaving),
            TestRings.Instance("c", [300], now));

        var all = Replication.ForRead(ring);
        Assert.True(all.Sufficient);
        Assert.Equal(["a", "b", "c"], all.Calls.Instances.Select(i => i.Id).Order());
        Assert.Equal(1, all.Calls.MaxErrors);
        Assert.Equal(2, all.Calls.MinSuccess);

        var degraded = await RingOfAsync(3,
            TestRings.Instance("a", [100], now),
            TestRings.Instance("b", [200], now),
            TestRings.Instance("c", [300], heartbeatMs: now - 120_000)); // heartbeat long expired
        var read = Replication.ForRead(degraded);
        Assert.True(read.Sufficient);
        Assert.Equal(["a", "b"], read.Calls.Instances.Select(i => i.Id));
        Assert.Equal(0, read.Calls.MaxErrors);
    }

    [Fact]
    public async Task Too_few_healthy_members_make_the_read_insufficient_naming_each_missing_one()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var ring = await RingOfAsync(3,
            TestRings.Instance("a", [100], now),
            TestRings.Instance("b", [200], heartbeatMs: now - 75_000),
            TestRings.Instance("c", [300], now, InstanceState.Joining));

        var read = Replication.ForRead(ring);
        Assert.False(read.Sufficient);
        Assert.Equal(2, read.Required);
        Assert.Equal(["b", "c"], read.Unreadable.Select(u => u.Member.Id));
        var why = read.Shortfall([]);
        Assert.Contains("needs 2 of 3 ingesters (replication factor 3)", why);
        // Nobody is called when the healthy members alone are too few: the healthy one is named, not counted as answering.
        Assert.Contains("; 0 did: a (a:9095) was not asked: the others could not make the read complete", why);
        Assert.Contains("b (b:9095) has not heartbeated for 75s (heartbeat timeout 60s)", why);
        Assert.Contains("c (c:9095) is JOINING", why);

        // A ring smaller than the replication factor, or empty, cannot prove any read complete.
        var empty = Replication.ForRead(await RingOfAsync(3));
        Assert.False(empty.Sufficient);
        Assert.Contains("the ring has no ingester", empty.Shortfall([]));
    }

    [Fact]
    public async Task Members_that_left_after_uploading_count_as_read_through_the_store()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        // Two of three left gracefully: their data is in the store, so the third need not even answer.
        var twoLeft = Replication.ForRead(await RingOfAsync(3,
            TestRings.Instance("a", [100], now - 10_000, InstanceState.Left),
            TestRings.Instance("b", [200], now - 5_000, InstanceState.Left),
            TestRings.Instance("c", [300], now)));
        Assert.True(twoLeft.Sufficient);
        Assert.Equal(["a", "b"], twoLeft.Left.Select(l => l.Id));
        Assert.Equal(["c"], twoLeft.Calls.Instances.Select(i => i.Id));
        Assert.Equal(1, twoLeft.Calls.MaxErrors);

        // All left: nothing to call, everything is in the store.
        var allLeft = Replication.ForRead(await RingOfAsync(3,
            TestRings.Instance("a", [100], now - 10_000, InstanceState.Left),
            TestRings.Instance("b", [200], now - 5_000, InstanceState.Left),
            TestRings.Instance("c", [300], now - 1_000, InstanceState.Left)));
        Assert.True(allLeft.Sufficient);
        Assert.Empty(allLeft.Calls.Instances);

        // One left, one crashed: the crashed one's profiles may be on no one else but the one that left.
        var leftAndCrashed = Replication.ForRead(await RingOfAsync(3,
            TestRings.Instance("a", [100], now - 10_000, InstanceState.Left),
            TestRings.Instance("b", [200], now - 120_000),
            TestRings.Instance("c", [300], now)));
        Assert.True(leftAndCrashed.Sufficient);
        Assert.Equal(0, leftAndCrashed.Calls.MaxErrors);
    }

    [Fact]
    public async Task A_tombstone_owns_no_keys_and_is_not_counted_for_limits_or_writes()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var ring = await RingOfAsync(3,
            TestRings.Instance("a", [100], now, InstanceState.Left),
            TestRings.Instance("b", [200], now),
            TestRings.Instance("c", [300], now));
        Assert.Equal(2, ring.Current.TokenCount);
        Assert.Equal(2, Replication.HealthyInstanceCount(ring));
        var write = ring.GetReplicationSet(50, 3);
        Assert.Equal(["b", "c"], write.Instances.Select(i => i.Id).Order());
        Assert.Equal(2, write.MinSuccess);
    }

    [Fact]
    public async Task Healthy_instances_are_members_with_a_fresh_heartbeat_in_any_state()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var ring = await RingOfAsync(1,
            TestRings.Instance("active", [100], now),
            TestRings.Instance("joining", [200], now, InstanceState.Joining),
            TestRings.Instance("leaving", [300], now, InstanceState.Leaving),
            TestRings.Instance("stale", [400], heartbeatMs: 0));

        Assert.Equal(3, Replication.HealthyInstanceCount(ring));
    }

    [Fact]
    public void The_failure_budget_tolerates_max_errors_and_fails_with_the_first_failure_beyond()
    {
        using var failFast = new CancellationTokenSource();
        var budget = new FailureBudget(1, failFast);
        var first = new InvalidOperationException("ingester-a failed");

        budget.Record(first);
        Assert.False(failFast.IsCancellationRequested);
        budget.ThrowIfExceeded();

        budget.Record(new InvalidOperationException("ingester-b failed"));
        Assert.True(failFast.IsCancellationRequested);
        Assert.Same(first, Assert.Throws<InvalidOperationException>(budget.ThrowIfExceeded));
    }

    [Fact]
    public async Task Concurrent_failures_within_the_budget_do_not_cancel()
    {
        using var failFast = new CancellationTokenSource();
        var budget = new FailureBudget(63, failFast);
        await Task.WhenAll(Enumerable.Range(0, 63).Select(i => Task.Run(() => budget.Record(new IOException($"call {i}")), Ct)));
        Assert.False(failFast.IsCancellationRequested);
        budget.ThrowIfExceeded();

        budget.Record(new IOException("one more"));
        Assert.True(failFast.IsCancellationRequested);
        Assert.Throws<IOException>(budget.ThrowIfExceeded);
    }

    private static async Task<RingClient> RingOfAsync(int replicationFactor, params InstanceDesc[] instances)
    {
        var kv = new InMemoryRingKvStore();
        await kv.CasRingAsync(RingOptions.DefaultKey, ring =>
        {
            foreach (var instance in instances)
            {
                ring.Instances[instance.Id] = instance;
            }
            return true;
        }, Ct);
        var client = new RingClient(kv, new RingOptions { ReplicationFactor = replicationFactor }, TimeProvider.System, NullLogger<RingClient>.Instance);
        await client.RefreshAsync(Ct);
        return client;
    }
}
