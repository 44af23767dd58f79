using Pyroscope.Ring;

namespace Pyroscope.Testing;

/// <summary>
/// A ring for readers only: the given members, every one heartbeating now (the list is read live, so members may be
/// added later; their own State counts), a replication factor (1 unless given), no replication sets for writes.
/// </summary>
public sealed class FixedRing(IReadOnlyList<InstanceDesc> instances, int replicationFactor = 1) : IRing
{
    public FixedRing(params InstanceDesc[] instances)
        : this((IReadOnlyList<InstanceDesc>)instances)
    {
    }

    /// <summary>A snapshot of the members as they are now; its version changes when the list or a member's state does.</summary>
    public RingSnapshot Current
    {
        get
        {
            var now = NowMs;
            var descriptor = new RingDescriptor();
            long version = instances.Count;
            foreach (var instance in instances)
            {
                descriptor.Instances[instance.Id] = new InstanceDesc
                {
                    Id = instance.Id,
                    Addr = instance.Addr,
                    GrpcAddr = instance.GrpcAddr,
                    Zone = instance.Zone,
                    State = instance.State,
                    Tokens = instance.Tokens,
                    HeartbeatTimestampMs = now,
                    RegisteredTimestampMs = instance.RegisteredTimestampMs,
                };
                version = version * 31 + (int)instance.State + 1;
            }
            return new RingSnapshot(version, descriptor);
        }
    }

    public int ReplicationFactor => replicationFactor;

    public TimeSpan HeartbeatTimeout => TimeSpan.FromMinutes(1);

    public long NowMs => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    public ReplicationSet GetReplicationSet(uint token, int replicationFactor, RingOperation operation = RingOperation.Write) => throw new NotSupportedException();

    public IReadOnlyList<InstanceDesc> GetAllHealthy(RingOperation operation = RingOperation.Read) =>
        [.. instances.Where(i => i.State == InstanceState.Active || (operation == RingOperation.Read && i.State == InstanceState.Leaving))];
}
