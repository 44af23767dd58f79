using Microsoft.Extensions.Logging.Abstractions;
using Pyroscope.Ring;
using Pyroscope.Ring.Kv;

namespace Pyroscope.Ring.Tests;

public sealed class ReplicationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(3, 3, 2)]
    [InlineData(3, 5, 2)]
    [InlineData(5, 5, 3)]
    [InlineData(2, 2, 2)]
    // Fewer members than replicas: the quorum of the replicas there can be.
    [InlineData(3, 2, 2)]
    [InlineData(3, 1, 1)]
    [InlineData(3, 0, 1)]
    public void Write_quorum_is_a_majority_of_the_replicas_the_ring_can_hold(int replicationFactor, int members, int expected) =>
        Assert.Equal(expected, Replication.WriteQuorum(replicationFactor, members));

    [Theory]
    // rf 3: every write is on 2 of its 3 replicas, so 1 of them may fail a read.
    [InlineData(3, 3, 3, 1)]
    [InlineData(5, 5, 3, 1)]
    // One member already unhealthy has used the budget up.
    [InlineData(3, 2, 3, 0)]
    [InlineData(5, 4, 3, 0)]
    // rf 5 tolerates 2.
    [InlineData(5, 5, 5, 2)]
    [InlineData(5, 4, 5, 1)]
    // rf 1: every profile is on one ingester, none may fail.
    [InlineData(4, 4, 1, 0)]
    // Fewer members than the replication factor still count the budget against rf.
    [InlineData(1, 1, 3, 0)]
    [InlineData(2, 2, 3, 0)]
    // Never negative, even with more unhealthy members than the budget.
    [InlineData(5, 1, 3, 0)]
    public void Read_failure_budget_follows_dskit(int members, int healthy, int replicationFactor, int expected) =>
        Assert.Equal(expected, Replication.ReadMaxErrors(members, healthy, replicationFactor));

    [Fact]
    public async Task A_read_goes_to_every_healthy_member_including_leaving_ones_with_the_remaining_budget()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var ring = await RingOfAsync(3,
            TestRings.Instance("a", [100], now),
            TestRings.Instance("b", [200], now, InstanceState.Leaving),
            TestRings.Instance("c", [300], now));

        var all = Replication.ForRead(ring);
        Assert.Equal(["a", "b", "c"], all.Instances.Select(i => i.Id).Order());
        Assert.Equal(1, all.MaxErrors);
        Assert.Equal(2, all.MinSuccess);

        var degraded = await RingOfAsync(3,
            TestRings.Instance("a", [100], now),
            TestRings.Instance("b", [200], heartbeatMs: 0), // heartbeat long expired
            TestRings.Instance("c", [300], now, InstanceState.Joining)); // not readable yet
        var read = Replication.ForRead(degraded);
        Assert.Equal(["a"], read.Instances.Select(i => i.Id));
        Assert.Equal(0, read.MaxErrors);
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
