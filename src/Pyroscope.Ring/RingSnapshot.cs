using System.Buffers;

namespace Pyroscope.Ring;

/// <summary>Which members an operation may use: writes need ACTIVE ones, reads may also use LEAVING ones (they still hold data).</summary>
public enum RingOperation
{
    Write,
    Read,
}

/// <summary>
/// An immutable, lookup-ready view of one ring descriptor version: all tokens in one sorted array with a
/// parallel array of owner indexes, so a lookup is a binary search plus a short clockwise walk.
/// </summary>
public sealed class RingSnapshot
{
    private const int StackLimit = 256;

    private readonly InstanceDesc[] _instances;
    private readonly uint[] _tokens;
    private readonly int[] _tokenOwner;
    private readonly int[] _instanceZone;

    public static RingSnapshot Empty { get; } = new(0, new RingDescriptor());

    public RingSnapshot(long version, RingDescriptor descriptor)
    {
        Version = version;
        _instances = new InstanceDesc[descriptor.Instances.Count];
        descriptor.Instances.Values.CopyTo(_instances, 0);
        Array.Sort(_instances, static (a, b) => string.CompareOrdinal(a.Id, b.Id));

        var zones = new Dictionary<string, int>(StringComparer.Ordinal);
        _instanceZone = new int[_instances.Length];
        var tokenCount = 0;
        for (var i = 0; i < _instances.Length; i++)
        {
            var zone = _instances[i].Zone ?? "";
            if (!zones.TryGetValue(zone, out var zoneIndex))
            {
                zones[zone] = zoneIndex = zones.Count;
            }
            _instanceZone[i] = zoneIndex;
            tokenCount += OwnedTokens(_instances[i]).Length;
        }
        ZoneCount = zones.Count;

        _tokens = new uint[tokenCount];
        _tokenOwner = new int[tokenCount];
        var at = 0;
        for (var i = 0; i < _instances.Length; i++)
        {
            foreach (var token in OwnedTokens(_instances[i]))
            {
                _tokens[at] = token;
                _tokenOwner[at] = i;
                at++;
            }
        }
        Array.Sort(_tokens, _tokenOwner);
    }

    /// <summary>A tombstone (LEFT) keeps its tokens for its next start but owns no key range meanwhile.</summary>
    private static uint[] OwnedTokens(InstanceDesc instance) => instance.State == InstanceState.Left ? [] : instance.Tokens;

    /// <summary>KV version the snapshot was built from.</summary>
    public long Version { get; }

    /// <summary>Members sorted by id; the indexes returned by <see cref="GetReplicas"/> point into this list.</summary>
    public IReadOnlyList<InstanceDesc> Instances => _instances;

    public int TokenCount => _tokens.Length;

    /// <summary>Number of distinct zones (members without a zone count as one zone).</summary>
    public int ZoneCount { get; }

    public bool IsHealthy(int instance, RingOperation operation, long nowMs, TimeSpan heartbeatTimeout)
    {
        var desc = _instances[instance];
        var stateOk = desc.State == InstanceState.Active || (operation == RingOperation.Read && desc.State == InstanceState.Leaving);
        return stateOk && desc.IsHeartbeatFresh(nowMs, heartbeatTimeout);
    }

    /// <summary>
    /// Writes into <paramref name="destination"/> the indexes of up to <paramref name="replicationFactor"/> distinct
    /// healthy members that own <paramref name="key"/>: the owners of the first tokens clockwise from the key,
    /// skipping unhealthy members and members already chosen; when there are at least as many zones as
    /// replicas, at most one member per zone. Returns how many were found. Allocates nothing.
    /// </summary>
    public int GetReplicas(uint key, int replicationFactor, RingOperation operation, long nowMs, TimeSpan heartbeatTimeout, Span<int> destination)
    {
        var wanted = Math.Min(Math.Min(replicationFactor, destination.Length), _instances.Length);
        if (wanted <= 0 || _tokens.Length == 0)
        {
            return 0;
        }
        var zoneAware = ZoneCount > 1 && ZoneCount >= replicationFactor;

        bool[]? rentedSeen = null;
        bool[]? rentedZones = null;
        var seen = _instances.Length <= StackLimit
            ? stackalloc bool[_instances.Length]
            : (rentedSeen = ArrayPool<bool>.Shared.Rent(_instances.Length)).AsSpan(0, _instances.Length);
        var zoneTaken = ZoneCount <= StackLimit
            ? stackalloc bool[ZoneCount]
            : (rentedZones = ArrayPool<bool>.Shared.Rent(ZoneCount)).AsSpan(0, ZoneCount);
        seen.Clear();
        zoneTaken.Clear();

        var found = 0;
        var considered = 0;
        var start = FirstTokenAfter(key);
        for (var step = 0; step < _tokens.Length && found < wanted && considered < _instances.Length; step++)
        {
            var index = start + step;
            if (index >= _tokens.Length)
            {
                index -= _tokens.Length;
            }
            var owner = _tokenOwner[index];
            if (seen[owner])
            {
                continue;
            }
            if (zoneAware && zoneTaken[_instanceZone[owner]])
            {
                continue;
            }
            seen[owner] = true;
            considered++;
            if (!IsHealthy(owner, operation, nowMs, heartbeatTimeout))
            {
                continue;
            }
            zoneTaken[_instanceZone[owner]] = true;
            destination[found++] = owner;
        }

        if (rentedSeen is not null)
        {
            ArrayPool<bool>.Shared.Return(rentedSeen);
        }
        if (rentedZones is not null)
        {
            ArrayPool<bool>.Shared.Return(rentedZones);
        }
        return found;
    }

    /// <summary>Index of the first token strictly greater than <paramref name="key"/>, wrapping to 0 past the end.</summary>
    private int FirstTokenAfter(uint key)
    {
        var lo = 0;
        var hi = _tokens.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (_tokens[mid] <= key)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        return lo == _tokens.Length ? 0 : lo;
    }

    /// <summary>Fraction of the token space each member owns (for the status page).</summary>
    public double[] Ownership()
    {
        var owned = new double[_instances.Length];
        if (_tokens.Length == 0)
        {
            return owned;
        }
        // Token t owns the keys in (previous token, t]; the first token also owns the wrap-around range.
        for (var i = 0; i < _tokens.Length; i++)
        {
            var previous = i == 0 ? _tokens[^1] : _tokens[i - 1];
            var span = unchecked(_tokens[i] - previous);
            owned[_tokenOwner[i]] += span == 0 && _tokens.Length == 1 ? 4294967296.0 : span;
        }
        for (var i = 0; i < owned.Length; i++)
        {
            owned[i] /= 4294967296.0;
        }
        return owned;
    }
}

/// <summary>
/// The members an operation goes to and how many of them must succeed: for a write, the replicas of a key and a
/// quorum of them (<see cref="Replication.WriteQuorum"/>); for a read, every healthy member and all but the
/// failures a read tolerates (<see cref="RingReadSet.Calls"/>).
/// </summary>
public sealed class ReplicationSet(IReadOnlyList<InstanceDesc> instances, int minSuccess)
{
    public IReadOnlyList<InstanceDesc> Instances { get; } = instances;

    /// <summary>Successful answers needed.</summary>
    public int MinSuccess { get; } = minSuccess;

    /// <summary>Failures that can be tolerated before the operation as a whole fails.</summary>
    public int MaxErrors => Instances.Count - MinSuccess;
}

/// <summary>Too few healthy members to reach a quorum.</summary>
public sealed class RingUnavailableException(string message) : Exception(message);
