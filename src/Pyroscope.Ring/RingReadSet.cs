using System.Text;

namespace Pyroscope.Ring;

/// <summary>A ring member a read cannot ask, and why (a stale heartbeat, JOINING).</summary>
public readonly record struct UnreadableMember(InstanceDesc Member, string Reason);

/// <summary>
/// What one read of the ingesters needs, from one ring snapshot: the healthy members to call (<see cref="Healthy"/>),
/// the members that left after handing their data to the object store (<see cref="Left"/>: the read takes it from
/// there, through a store listing made after it saw them leave), and the members it cannot read. A read sees every
/// acknowledged write when <see cref="Replication.ReadRequired"/> members answered or left; <see cref="Calls"/> is
/// the fan-out with that many answers required. When even all healthy members together are too few
/// (<see cref="Sufficient"/> is false) the read must fail without calling anyone; <see cref="Shortfall"/> says why.
/// </summary>
public sealed class RingReadSet
{
    public RingReadSet(long ringVersion, IReadOnlyList<InstanceDesc> healthy, IReadOnlyList<InstanceDesc> left,
        IReadOnlyList<UnreadableMember> unreadable, int memberCount, int replicationFactor)
    {
        RingVersion = ringVersion;
        Healthy = healthy;
        Left = left;
        Unreadable = unreadable;
        MemberCount = memberCount;
        ReplicationFactor = Math.Max(1, replicationFactor);
        Required = Replication.ReadRequired(memberCount, replicationFactor);
        var fromCalls = Math.Clamp(Required - left.Count, 0, healthy.Count);
        Calls = new ReplicationSet(healthy, fromCalls);
    }

    public long RingVersion { get; }

    /// <summary>ACTIVE or LEAVING members with a fresh heartbeat: the ones to call.</summary>
    public IReadOnlyList<InstanceDesc> Healthy { get; }

    /// <summary>Members that left gracefully after uploading everything they held (LEFT tombstones).</summary>
    public IReadOnlyList<InstanceDesc> Left { get; }

    public IReadOnlyList<UnreadableMember> Unreadable { get; }

    public int MemberCount { get; }

    public int ReplicationFactor { get; }

    /// <summary>Members that must answer or have left for the read to be complete.</summary>
    public int Required { get; }

    /// <summary>Whether the healthy and departed members together can make the read complete.</summary>
    public bool Sufficient => Healthy.Count + Left.Count >= Required;

    /// <summary>The calls to make: every healthy member, and how many of them must succeed (meaningful when <see cref="Sufficient"/>).</summary>
    public ReplicationSet Calls { get; }

    /// <summary>Healthy members a read does not call because, without the others, it could not be complete anyway.</summary>
    public IReadOnlyList<InstanceDesc> NotAsked => Sufficient ? [] : Healthy;

    /// <summary>
    /// Why a read with this set is incomplete, naming every member it could not read: the unreadable ones,
    /// <paramref name="failed"/> (healthy members whose call failed, each described as "id (address) failed: cause")
    /// and <paramref name="notWaitedFor"/> (healthy members still to answer when the failures already made the read
    /// incomplete: their calls were cancelled, so neither their answer nor their fate is known), and <see cref="NotAsked"/>.
    /// </summary>
    public string Shortfall(IReadOnlyList<string> failed, IReadOnlyList<InstanceDesc>? notWaitedFor = null)
    {
        notWaitedFor ??= [];
        var answered = Math.Max(0, Healthy.Count - NotAsked.Count - failed.Count - notWaitedFor.Count) + Left.Count;
        var text = new StringBuilder()
            .Append("reading every acknowledged profile needs ").Append(Required).Append(" of ").Append(Math.Max(MemberCount, ReplicationFactor))
            .Append(" ingesters (replication factor ").Append(ReplicationFactor).Append(") to answer or to have left after uploading their data; ")
            .Append(answered).Append(" did");
        var reasons = new List<string>(failed);
        foreach (var member in NotAsked)
        {
            reasons.Add($"{member.Id} ({member.GrpcAddr}) was not asked: the others could not make the read complete");
        }
        foreach (var member in notWaitedFor)
        {
            reasons.Add($"{member.Id} ({member.GrpcAddr}) was not waited for: the read could no longer be complete");
        }
        foreach (var (member, reason) in Unreadable)
        {
            reasons.Add($"{member.Id} ({member.GrpcAddr}) {reason}");
        }
        if (MemberCount < ReplicationFactor)
        {
            reasons.Add(MemberCount == 0 ? "the ring has no ingester" : $"the ring has only {MemberCount} ingester(s)");
        }
        if (reasons.Count > 0)
        {
            text.Append(": ").AppendJoin("; ", reasons);
        }
        return text.ToString();
    }
}
