using Pyroscope.Contracts.Ingester.V1;

namespace Pyroscope.Ingester.Client;

/// <summary>
/// Which profiles each ingester merges in the second round of a replicated read: every profile id the totals round
/// saw goes to exactly one of the ingesters that reported it (the first by instance id), and to none when the store the
/// caller also merges counts it already.
/// The assignment is a list of ids each ingester may merge, not a list it must leave out: the slowest replica of a
/// write acknowledged by a quorum may receive it between the two rounds, after its totals said it did not hold it, and
/// an exclusion list built from those totals would let that replica merge it a second time.
/// Ids not seen in the totals round are merged by nobody: a write still arriving then was acknowledged after the read
/// began, and every profile acknowledged before is reported by at least one ingester of the totals quorum.
/// </summary>
internal sealed class ReplicaAssignment
{
    private readonly Dictionary<string, List<string>> _byInstance;

    private ReplicaAssignment(Dictionary<string, List<string>> byInstance) => _byInstance = byInstance;

    /// <summary>Profile ids <paramref name="instanceId"/> merges (empty when it answers for none).</summary>
    public IReadOnlyList<string> For(string instanceId) => _byInstance.TryGetValue(instanceId, out var ids) ? ids : [];

    /// <summary>
    /// The assignment for the totals each ingester reported. Profiles without an id cannot be told apart across
    /// replicas; each ingester keeps merging its own, as the totals merge keeps them all.
    /// </summary>
    public static ReplicaAssignment Of(IEnumerable<(string InstanceId, ProfileTotalsResponse Totals)> answers, IReadOnlySet<string>? countedElsewhere = null)
    {
        var ordered = new List<(string InstanceId, ProfileTotalsResponse Totals)>(answers);
        ordered.Sort(static (a, b) => string.CompareOrdinal(a.InstanceId, b.InstanceId));
        var assigned = new HashSet<string>(StringComparer.Ordinal);
        var byInstance = new Dictionary<string, List<string>>(ordered.Count, StringComparer.Ordinal);
        foreach (var (instanceId, totals) in ordered)
        {
            var own = new List<string>();
            var unidentified = false;
            foreach (var total in totals.Totals)
            {
                var id = total.ProfileId;
                if (id.Length == 0)
                {
                    unidentified = true;
                }
                else if ((countedElsewhere is null || !countedElsewhere.Contains(id)) && assigned.Add(id))
                {
                    own.Add(id);
                }
            }
            if (unidentified)
            {
                own.Add("");
            }
            byInstance[instanceId] = own;
        }
        return new ReplicaAssignment(byInstance);
    }

    /// <summary>The request for one ingester: only the profiles assigned to it (a copy; the shared request is unchanged).</summary>
    public SelectRequest RequestFor(SelectRequest request, string instanceId)
    {
        // The assigned ids came from totals read with the same request, so they already satisfy its own profile filter.
        var own = request.Clone();
        own.HasProfileFilter = true;
        own.ProfileIds.Clear();
        own.ProfileIds.AddRange(For(instanceId));
        return own;
    }
}
