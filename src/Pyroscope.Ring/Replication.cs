namespace Pyroscope.Ring;

/// <summary>
/// How many members an operation needs and how many may fail, as dskit's ring decides it. The distributor's
/// writes, the querier's reads and the ingester's series limits all ask here, so both sides of a quorum agree.
/// </summary>
public static class Replication
{
    /// <summary>Acknowledgements a write needs: a quorum (rf/2+1) of the replication factor, counting at most as many replicas as there are members.</summary>
    public static int WriteQuorum(int replicationFactor, int memberCount) =>
        Math.Max(1, Math.Min(replicationFactor, memberCount)) / 2 + 1;

    /// <summary>
    /// Failures a read of every healthy member tolerates without losing an acknowledged write (dskit's read
    /// replication set): every write reached a quorum of its rf replicas, so of max(members, rf) members all but
    /// rf/2 must answer, and members that are already unhealthy have used up part of that budget.
    /// </summary>
    public static int ReadMaxErrors(int memberCount, int healthyCount, int replicationFactor)
    {
        var members = Math.Max(memberCount, healthyCount);
        var required = Math.Max(members, replicationFactor) - replicationFactor / 2;
        return Math.Max(0, healthyCount - required);
    }

    /// <summary>The members a read goes to (every healthy one: ACTIVE or LEAVING) and how many of them may fail.</summary>
    public static ReplicationSet ForRead(IRing ring)
    {
        var memberCount = ring.Current.Instances.Count;
        var healthy = ring.GetAllHealthy(RingOperation.Read);
        var maxErrors = ReadMaxErrors(memberCount, healthy.Count, ring.ReplicationFactor);
        return new ReplicationSet(healthy, healthy.Count - maxErrors);
    }

    /// <summary>
    /// Members with a fresh heartbeat in any state, as dskit's HealthyInstancesCount counts them: what a global
    /// per-tenant limit is divided by.
    /// </summary>
    public static int HealthyInstanceCount(IRing ring)
    {
        var snapshot = ring.Current;
        var now = ring.NowMs;
        var healthy = 0;
        for (var i = 0; i < snapshot.Instances.Count; i++)
        {
            if (snapshot.Instances[i].IsHeartbeatFresh(now, ring.HeartbeatTimeout))
            {
                healthy++;
            }
        }
        return healthy;
    }
}
