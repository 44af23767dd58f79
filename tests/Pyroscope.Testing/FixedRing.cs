using Pyroscope.Ring;

namespace Pyroscope.Testing;

/// <summary>
/// A ring for readers only: the given members are all healthy (the list is read live, so members may be added
/// later), replication factor 1, no descriptor behind it (an empty snapshot), no replication sets for writes.
/// </summary>
public sealed class FixedRing(IReadOnlyList<InstanceDesc> instances) : IRing
{
    public FixedRing(params InstanceDesc[] instances)
        : this((IReadOnlyList<InstanceDesc>)instances)
    {
    }

    public RingSnapshot Current => RingSnapshot.Empty;

    public int ReplicationFactor => 1;

    public TimeSpan HeartbeatTimeout => TimeSpan.FromMinutes(1);

    public long NowMs => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    public ReplicationSet GetReplicationSet(uint token, int replicationFactor, RingOperation operation = RingOperation.Write) => throw new NotSupportedException();

    public IReadOnlyList<InstanceDesc> GetAllHealthy(RingOperation operation = RingOperation.Read) => instances;
}
