using Pyroscope.Ring;

namespace Pyroscope.Ring.Tests;

internal static class TestRings
{
    public static InstanceDesc Instance(string id, uint[] tokens, long heartbeatMs, InstanceState state = InstanceState.Active, string? zone = null) => new()
    {
        Id = id,
        Addr = id + ":4040",
        GrpcAddr = id + ":9095",
        Zone = zone,
        State = state,
        Tokens = tokens,
        HeartbeatTimestampMs = heartbeatMs,
        RegisteredTimestampMs = heartbeatMs,
    };

    public static RingDescriptor Descriptor(params InstanceDesc[] instances)
    {
        var descriptor = new RingDescriptor();
        foreach (var instance in instances)
        {
            descriptor.Instances[instance.Id] = instance;
        }
        return descriptor;
    }

    /// <summary>A ring of <paramref name="count"/> active members with random tokens, zones assigned round robin.</summary>
    public static RingDescriptor Random(int count, int tokensPerInstance, long heartbeatMs, int zones, Random random)
    {
        var taken = new HashSet<uint>();
        var descriptor = new RingDescriptor();
        for (var i = 0; i < count; i++)
        {
            var tokens = RingTokens.Generate(tokensPerInstance, taken, random);
            taken.UnionWith(tokens);
            var id = $"ingester-{i}";
            descriptor.Instances[id] = Instance(id, tokens, heartbeatMs, zone: zones > 0 ? $"zone-{i % zones}" : null);
        }
        return descriptor;
    }
}
