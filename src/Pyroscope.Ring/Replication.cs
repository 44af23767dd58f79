namespace Pyroscope.Ring;

/// <summary>
/// How many members an operation needs and how many may fail, as dskit's ring decides it. The distributor's
/// writes, the querier's reads and the ingester's series limits all ask here, so both sides of a quorum agree.
/// </summary>
public static class Replication
{
    /// <summary>
    /// Acknowledgements a write needs: a quorum (rf/2+1) of the replication factor, as dskit's replication strategy,
    /// whatever the ring's size. With fewer healthy replicas the write fails: accepting it on fewer ingesters would let a
    /// later read, which counts on rf/2+1 copies, miss it once the ring has grown back.
    /// </summary>
    public static int WriteQuorum(int replicationFactor) => Math.Max(1, replicationFactor) / 2 + 1;

    /// <summary>
    /// Members whose data a read must see to include every acknowledged write (dskit's read replication set): every
    /// write reached rf/2+1 of its rf replicas, so of max(members, rf) members all but rf/2 must answer. Members that
    /// left after uploading everything count as answered: the read takes their data from the store.
    /// </summary>
    public static int ReadRequired(int memberCount, int replicationFactor)
    {
        var rf = Math.Max(1, replicationFactor);
        return Math.Max(memberCount, rf) - rf / 2;
    }

    /// <summary>
    /// The members a read goes to (every healthy one: ACTIVE or LEAVING with a fresh heartbeat), the members whose data
    /// is in the store (LEFT), the members that cannot be read, and how many calls may fail; see <see cref="RingReadSet"/>.
    /// </summary>
    public static RingReadSet ForRead(IRing ring)
    {
        var snapshot = ring.Current;
        var now = ring.NowMs;
        var healthy = new List<InstanceDesc>(snapshot.Instances.Count);
        List<InstanceDesc>? left = null;
        List<UnreadableMember>? unreadable = null;
        for (var i = 0; i < snapshot.Instances.Count; i++)
        {
            var member = snapshot.Instances[i];
            if (member.State == InstanceState.Left)
            {
                (left ??= []).Add(member);
            }
            else if (snapshot.IsHealthy(i, RingOperation.Read, now, ring.HeartbeatTimeout))
            {
                healthy.Add(member);
            }
            else
            {
                (unreadable ??= []).Add(new UnreadableMember(member, WhyUnhealthy(member, now, ring.HeartbeatTimeout)));
            }
        }
        return new RingReadSet(snapshot.Version, healthy, left ?? [], unreadable ?? [], snapshot.Instances.Count, ring.ReplicationFactor);
    }

    /// <summary>
    /// Each member that cannot take part in <paramref name="operation"/> and why ("ingester-1 (host:port) has not
    /// heartbeated for 9s (heartbeat timeout 4s)", "... is LEAVING"), joined with "; "; empty when every member can.
    /// </summary>
    public static string DescribeUnhealthy(IRing ring, RingOperation operation)
    {
        var snapshot = ring.Current;
        var now = ring.NowMs;
        var reasons = new List<string>();
        for (var i = 0; i < snapshot.Instances.Count; i++)
        {
            var member = snapshot.Instances[i];
            if (!snapshot.IsHealthy(i, operation, now, ring.HeartbeatTimeout))
            {
                reasons.Add($"{member.Id} ({member.GrpcAddr}) {WhyUnhealthy(member, now, ring.HeartbeatTimeout)}");
            }
        }
        return string.Join("; ", reasons);
    }

    private static string WhyUnhealthy(InstanceDesc member, long nowMs, TimeSpan heartbeatTimeout) =>
        member.IsHeartbeatFresh(nowMs, heartbeatTimeout)
            ? $"is {member.State.ToString().ToUpperInvariant()}"
            : $"has not heartbeated for {Math.Max(0, nowMs - member.HeartbeatTimestampMs) / 1000}s (heartbeat timeout {heartbeatTimeout.TotalSeconds:0.###}s)";

    /// <summary>
    /// Members with a fresh heartbeat in any state but LEFT, as dskit's HealthyInstancesCount counts them: what a
    /// global per-tenant limit is divided by.
    /// </summary>
    public static int HealthyInstanceCount(IRing ring)
    {
        var snapshot = ring.Current;
        var now = ring.NowMs;
        var healthy = 0;
        for (var i = 0; i < snapshot.Instances.Count; i++)
        {
            var member = snapshot.Instances[i];
            if (member.State != InstanceState.Left && member.IsHeartbeatFresh(now, ring.HeartbeatTimeout))
            {
                healthy++;
            }
        }
        return healthy;
    }
}
