using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Model;

namespace Pyroscope.Ingester.Client;

/// <summary>
/// Collects merged stacks as a trie for the wire (<see cref="StackSet"/>): each frame name once, each
/// distinct stack prefix once, values only on the nodes where stacks end. Used as the sink of a local
/// merge on the ingester.
/// </summary>
public sealed class StackSetBuilder : IStackSink
{
    private readonly Dictionary<string, int> _names = new(StringComparer.Ordinal);
    private readonly List<string> _nameTable = [];
    // (parent node + 1) << 32 | name id → node; parent -1 (a root frame) becomes 0.
    private readonly Dictionary<long, int> _children = [];
    private readonly List<int> _parents = [];
    private readonly List<int> _nameIds = [];
    private readonly List<long> _values = [];

    public int NodeCount => _parents.Count;

    public int Intern(string frameName)
    {
        if (!_names.TryGetValue(frameName, out var id))
        {
            id = _nameTable.Count;
            _names.Add(frameName, id);
            _nameTable.Add(frameName);
        }
        return id;
    }

    public void Add(ReadOnlySpan<int> rootToLeaf, long value)
    {
        if (rootToLeaf.IsEmpty || value == 0)
        {
            return;
        }
        var node = -1;
        foreach (var nameId in rootToLeaf)
        {
            if ((uint)nameId >= (uint)_nameTable.Count)
            {
                throw new ArgumentOutOfRangeException(nameof(rootToLeaf), nameId, "frame id was not interned by this sink");
            }
            var key = ((long)(node + 1) << 32) | (uint)nameId;
            if (!_children.TryGetValue(key, out var child))
            {
                child = _parents.Count;
                _parents.Add(node);
                _nameIds.Add(nameId);
                _values.Add(0);
                _children.Add(key, child);
            }
            node = child;
        }
        _values[node] += value;
    }

    public StackSet Build()
    {
        var set = new StackSet();
        set.Names.AddRange(_nameTable);
        set.Parents.AddRange(_parents);
        set.NameIds.AddRange(_nameIds);
        set.Values.AddRange(_values);
        return set;
    }
}

/// <summary>Replays a <see cref="StackSet"/> into a sink, validating it (it comes from another process).</summary>
public static class StackSetReader
{
    public static void ReplayInto(StackSet set, IStackSink sink)
    {
        var count = set.Parents.Count;
        if (set.NameIds.Count != count || set.Values.Count != count)
        {
            throw new InvalidDataException($"stack set is inconsistent: {count} parents, {set.NameIds.Count} name ids, {set.Values.Count} values");
        }
        if (count == 0)
        {
            return;
        }
        // Intern every name once; the sink's ids differ from the sender's.
        var sinkIds = new int[set.Names.Count];
        for (var i = 0; i < sinkIds.Length; i++)
        {
            sinkIds[i] = sink.Intern(set.Names[i]);
        }
        var depths = new int[count];
        var maxDepth = 0;
        for (var i = 0; i < count; i++)
        {
            var parent = set.Parents[i];
            if (parent < -1 || parent >= i)
            {
                throw new InvalidDataException($"stack set node {i} has parent {parent}; a parent must precede its children");
            }
            if ((uint)set.NameIds[i] >= (uint)sinkIds.Length)
            {
                throw new InvalidDataException($"stack set node {i} refers to name {set.NameIds[i]}, but only {sinkIds.Length} names were sent");
            }
            depths[i] = parent < 0 ? 1 : depths[parent] + 1;
            maxDepth = Math.Max(maxDepth, depths[i]);
        }
        var path = new int[maxDepth];
        for (var i = 0; i < count; i++)
        {
            var value = set.Values[i];
            if (value == 0)
            {
                continue;
            }
            var depth = depths[i];
            for (int node = i, at = depth - 1; node >= 0; node = set.Parents[node], at--)
            {
                path[at] = sinkIds[set.NameIds[node]];
            }
            sink.Add(path.AsSpan(0, depth), value);
        }
    }
}
