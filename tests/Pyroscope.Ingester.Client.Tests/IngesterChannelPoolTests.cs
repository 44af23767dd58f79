using Pyroscope.Ring;


namespace Pyroscope.Ingester.Client.Tests;

public sealed class IngesterChannelPoolTests
{
    [Fact]
    public void Channels_of_departed_members_are_closed_once_per_ring_version()
    {
        using var pool = new IngesterChannelPool();
        pool.GetClient("10.0.0.1:9095");
        pool.GetClient("10.0.0.2:9095");
        pool.GetClient("10.0.0.3:9095");

        var version1 = Ring(1, "10.0.0.1:9095", "10.0.0.2:9095");
        pool.EvictDeparted(version1);
        Assert.Equal(["10.0.0.1:9095", "10.0.0.2:9095"], pool.Addresses.Order());

        // The same version is not checked twice (every push and read asks): a channel opened since stays.
        pool.GetClient("10.0.0.3:9095");
        pool.EvictDeparted(version1);
        Assert.Contains("10.0.0.3:9095", pool.Addresses);

        pool.EvictDeparted(Ring(2, "10.0.0.1:9095"));
        Assert.Equal(["10.0.0.1:9095"], pool.Addresses);
    }

    [Fact]
    public void A_member_that_registered_anew_or_left_gets_a_new_channel()
    {
        using var pool = new IngesterChannelPool();
        pool.EvictDeparted(Ring(1, ("10.0.0.1:9095", 100, InstanceState.Active), ("10.0.0.2:9095", 100, InstanceState.Active)));
        var first = pool.GetClient("10.0.0.1:9095");
        pool.GetClient("10.0.0.2:9095");

        // Heartbeats change nothing: same registration, same channel.
        pool.EvictDeparted(Ring(2, ("10.0.0.1:9095", 100, InstanceState.Active), ("10.0.0.2:9095", 100, InstanceState.Active)));
        Assert.Equal(["10.0.0.1:9095", "10.0.0.2:9095"], pool.Addresses.Order());

        // 10.0.0.1 was restarted (a new process registered the id): its old channel may be in reconnect backoff.
        // 10.0.0.2 left gracefully (a LEFT tombstone stays in the ring): nobody calls it any more.
        pool.EvictDeparted(Ring(3, ("10.0.0.1:9095", 200, InstanceState.Joining), ("10.0.0.2:9095", 100, InstanceState.Left)));
        Assert.Empty(pool.Addresses);
        pool.GetClient("10.0.0.1:9095");
        pool.EvictDeparted(Ring(4, ("10.0.0.1:9095", 200, InstanceState.Active), ("10.0.0.2:9095", 100, InstanceState.Left)));
        Assert.Equal(["10.0.0.1:9095"], pool.Addresses);
        Assert.NotNull(first);
    }

    private static RingSnapshot Ring(long version, params string[] grpcAddresses) =>
        Ring(version, [.. grpcAddresses.Select(a => (a, 0L, InstanceState.Active))]);

    private static RingSnapshot Ring(long version, params (string Address, long RegisteredMs, InstanceState State)[] members)
    {
        var descriptor = new RingDescriptor();
        foreach (var (address, registeredMs, state) in members)
        {
            descriptor.Instances[address] = new InstanceDesc { Id = address, GrpcAddr = address, State = state, RegisteredTimestampMs = registeredMs };
        }
        return new RingSnapshot(version, descriptor);
    }
}
