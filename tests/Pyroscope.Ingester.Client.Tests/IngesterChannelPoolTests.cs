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

    private static RingSnapshot Ring(long version, params string[] grpcAddresses)
    {
        var descriptor = new RingDescriptor();
        foreach (var address in grpcAddresses)
        {
            descriptor.Instances[address] = new InstanceDesc { Id = address, GrpcAddr = address, State = InstanceState.Active };
        }
        return new RingSnapshot(version, descriptor);
    }
}
