using System.Runtime.InteropServices;

namespace Pyroscope.Storage.Symbols;

/// <summary>
/// Deduplicated symbols of one tenant (head) or one block: strings, functions, mappings and locations,
/// plus the stack tree. Ids are dense indexes. Deduplication dictionaries exist only while writing.
/// Every column is append-only: interning stages a candidate row at <c>Count</c> and either commits it or
/// rolls the count back, committed rows are never rewritten, and a row only refers to rows committed
/// before it. That is what lets head queries read a <see cref="SymbolSnapshot"/> without the head's lock.
/// The dictionaries are not safe to read concurrently and are only used by the writer.
/// </summary>
internal sealed class SymbolTable
{
    // Strings: index 0 is always "".
    public GrowableArray<string> Strings = new(256);

    // Functions, columnar.
    public GrowableArray<int> FunctionName = new(256);
    public GrowableArray<int> FunctionSystemName = new(256);
    public GrowableArray<int> FunctionFilename = new(256);
    public GrowableArray<long> FunctionStartLine = new(256);

    // Mappings, columnar.
    public GrowableArray<ulong> MappingStart = new(16);
    public GrowableArray<ulong> MappingLimit = new(16);
    public GrowableArray<ulong> MappingOffset = new(16);
    public GrowableArray<int> MappingFilename = new(16);
    public GrowableArray<int> MappingBuildId = new(16);

    // Locations, columnar; lines live in their own columns, [LocationLineStart, +LocationLineCount).
    public GrowableArray<int> LocationMapping = new(256);
    public GrowableArray<ulong> LocationAddress = new(256);
    public GrowableArray<int> LocationLineStart = new(256);
    public GrowableArray<int> LocationLineCount = new(256);
    public GrowableArray<int> LineFunction = new(256);
    public GrowableArray<long> LineNumber = new(256);

    // Stack tree: node i has a location and a parent node (-1 at the root level). A stack id is its leaf node.
    public GrowableArray<int> NodeParent = new(1024);
    public GrowableArray<int> NodeLocation = new(1024);

    private Dictionary<string, int>? _stringIds;
    private Dictionary<int, int>? _functionIds;
    private Dictionary<int, int>? _mappingIds;
    private Dictionary<int, int>? _locationIds;
    private Dictionary<long, int>? _nodeIds;
    private Dictionary<ulong, int>? _stackByHash;

    public static SymbolTable CreateWritable()
    {
        var table = new SymbolTable();
        table.Strings.Add(string.Empty);
        table.EnableWriting();
        return table;
    }

    /// <summary>Builds the deduplication dictionaries over the current contents (used by the compactor).</summary>
    public void EnableWriting()
    {
        _stringIds = new Dictionary<string, int>(Math.Max(16, Strings.Count), StringComparer.Ordinal);
        for (var i = 0; i < Strings.Count; i++)
        {
            _stringIds.TryAdd(Strings[i], i);
        }
        _functionIds = new Dictionary<int, int>(new FunctionComparer(this));
        for (var i = 0; i < FunctionName.Count; i++)
        {
            _functionIds.TryAdd(i, i);
        }
        _mappingIds = new Dictionary<int, int>(new MappingComparer(this));
        for (var i = 0; i < MappingStart.Count; i++)
        {
            _mappingIds.TryAdd(i, i);
        }
        _locationIds = new Dictionary<int, int>(new LocationComparer(this));
        for (var i = 0; i < LocationMapping.Count; i++)
        {
            _locationIds.TryAdd(i, i);
        }
        _nodeIds = new Dictionary<long, int>(Math.Max(16, NodeParent.Count));
        for (var i = 0; i < NodeParent.Count; i++)
        {
            _nodeIds.TryAdd(NodeKey(NodeParent[i], NodeLocation[i]), i);
        }
    }

    public int FunctionCount => FunctionName.Count;

    public int LocationCount => LocationMapping.Count;

    public int NodeCount => NodeParent.Count;

    /// <summary>Interns text given as characters; allocates a string only when the text is new.</summary>
    public int InternString(ReadOnlySpan<char> value)
    {
        var lookup = _stringIds!.GetAlternateLookup<ReadOnlySpan<char>>();
        if (lookup.TryGetValue(value, out var id))
        {
            return id;
        }
        var text = value.ToString();
        id = Strings.Add(text);
        _stringIds.Add(text, id);
        return id;
    }

    public int InternString(string value)
    {
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_stringIds!, value, out var exists);
        if (!exists)
        {
            slot = Strings.Add(value);
        }
        return slot;
    }

    public int InternFunction(int name, int systemName, int filename, long startLine)
    {
        // Stage the candidate in the spare slot; the comparer reads it like a committed row.
        var candidate = FunctionName.Count;
        FunctionName.Add(name);
        FunctionSystemName.Add(systemName);
        FunctionFilename.Add(filename);
        FunctionStartLine.Add(startLine);
        if (_functionIds!.TryGetValue(candidate, out var existing))
        {
            FunctionName.SetCount(candidate);
            FunctionSystemName.SetCount(candidate);
            FunctionFilename.SetCount(candidate);
            FunctionStartLine.SetCount(candidate);
            return existing;
        }
        _functionIds.Add(candidate, candidate);
        return candidate;
    }

    public int InternMapping(ulong start, ulong limit, ulong offset, int filename, int buildId)
    {
        var candidate = MappingStart.Count;
        MappingStart.Add(start);
        MappingLimit.Add(limit);
        MappingOffset.Add(offset);
        MappingFilename.Add(filename);
        MappingBuildId.Add(buildId);
        if (_mappingIds!.TryGetValue(candidate, out var existing))
        {
            MappingStart.SetCount(candidate);
            MappingLimit.SetCount(candidate);
            MappingOffset.SetCount(candidate);
            MappingFilename.SetCount(candidate);
            MappingBuildId.SetCount(candidate);
            return existing;
        }
        _mappingIds.Add(candidate, candidate);
        return candidate;
    }

    /// <summary>Call <see cref="AddStagedLine"/> for each line first, then this.</summary>
    public int InternLocation(int mapping, ulong address, int stagedLineStart)
    {
        var candidate = LocationMapping.Count;
        LocationMapping.Add(mapping);
        LocationAddress.Add(address);
        LocationLineStart.Add(stagedLineStart);
        LocationLineCount.Add(LineFunction.Count - stagedLineStart);
        if (_locationIds!.TryGetValue(candidate, out var existing))
        {
            LocationMapping.SetCount(candidate);
            LocationAddress.SetCount(candidate);
            LocationLineStart.SetCount(candidate);
            LocationLineCount.SetCount(candidate);
            LineFunction.SetCount(stagedLineStart);
            LineNumber.SetCount(stagedLineStart);
            return existing;
        }
        _locationIds.Add(candidate, candidate);
        return candidate;
    }

    public int StageLineStart => LineFunction.Count;

    public void AddStagedLine(int function, long line)
    {
        LineFunction.Add(function);
        LineNumber.Add(line);
    }

    public int InternNode(int parent, int location)
    {
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_nodeIds!, NodeKey(parent, location), out var exists);
        if (!exists)
        {
            NodeLocation.Add(location);
            slot = NodeParent.Add(parent);
        }
        return slot;
    }

    /// <summary>
    /// Interns a whole stack (locations root first) and returns its leaf node. A hash of the location
    /// sequence finds stacks seen before without a dictionary lookup per frame; the hit is verified
    /// by walking the parent chain, so a hash collision only costs the slow path.
    /// </summary>
    public int InternStack(ReadOnlySpan<int> rootToLeaf)
    {
        _stackByHash ??= new Dictionary<ulong, int>(1024);
        var hash = System.IO.Hashing.XxHash3.HashToUInt64(MemoryMarshal.AsBytes(rootToLeaf));
        if (_stackByHash.TryGetValue(hash, out var cached) && IsStack(cached, rootToLeaf))
        {
            return cached;
        }
        var node = -1;
        foreach (var location in rootToLeaf)
        {
            node = InternNode(node, location);
        }
        _stackByHash[hash] = node;
        return node;
    }

    private bool IsStack(int leaf, ReadOnlySpan<int> rootToLeaf)
    {
        var node = leaf;
        for (var i = rootToLeaf.Length - 1; i >= 0; i--)
        {
            if (node < 0 || NodeLocation[node] != rootToLeaf[i])
            {
                return false;
            }
            node = NodeParent[node];
        }
        return node == -1;
    }

    private static long NodeKey(int parent, int location) => ((long)(parent + 1) << 32) | (uint)location;

    public long EstimatedBytes()
    {
        long bytes = 0;
        for (var i = 0; i < Strings.Count; i++)
        {
            bytes += 24 + Strings[i].Length * 2;
        }
        bytes += FunctionName.Count * 20L + MappingStart.Count * 32L + LocationMapping.Count * 24L + LineFunction.Count * 12L;
        bytes += NodeParent.Count * 8L;
        if (_nodeIds is not null)
        {
            // Dictionaries cost roughly 24 bytes per entry.
            bytes += (_nodeIds.Count + (_stackByHash?.Count ?? 0) + LocationMapping.Count + FunctionName.Count + Strings.Count) * 24L;
        }
        return bytes;
    }

    private sealed class FunctionComparer(SymbolTable t) : IEqualityComparer<int>
    {
        public bool Equals(int a, int b) =>
            t.FunctionName[a] == t.FunctionName[b] && t.FunctionSystemName[a] == t.FunctionSystemName[b]
            && t.FunctionFilename[a] == t.FunctionFilename[b] && t.FunctionStartLine[a] == t.FunctionStartLine[b];

        public int GetHashCode(int i) =>
            HashCode.Combine(t.FunctionName[i], t.FunctionSystemName[i], t.FunctionFilename[i], t.FunctionStartLine[i]);
    }

    private sealed class MappingComparer(SymbolTable t) : IEqualityComparer<int>
    {
        public bool Equals(int a, int b) =>
            t.MappingStart[a] == t.MappingStart[b] && t.MappingLimit[a] == t.MappingLimit[b] && t.MappingOffset[a] == t.MappingOffset[b]
            && t.MappingFilename[a] == t.MappingFilename[b] && t.MappingBuildId[a] == t.MappingBuildId[b];

        public int GetHashCode(int i) =>
            HashCode.Combine(t.MappingStart[i], t.MappingLimit[i], t.MappingOffset[i], t.MappingFilename[i], t.MappingBuildId[i]);
    }

    private sealed class LocationComparer(SymbolTable t) : IEqualityComparer<int>
    {
        public bool Equals(int a, int b)
        {
            if (t.LocationMapping[a] != t.LocationMapping[b] || t.LocationAddress[a] != t.LocationAddress[b]
                || t.LocationLineCount[a] != t.LocationLineCount[b])
            {
                return false;
            }
            var count = t.LocationLineCount[a];
            var sa = t.LocationLineStart[a];
            var sb = t.LocationLineStart[b];
            for (var i = 0; i < count; i++)
            {
                if (t.LineFunction[sa + i] != t.LineFunction[sb + i] || t.LineNumber[sa + i] != t.LineNumber[sb + i])
                {
                    return false;
                }
            }
            return true;
        }

        public int GetHashCode(int i)
        {
            var hash = new HashCode();
            hash.Add(t.LocationMapping[i]);
            hash.Add(t.LocationAddress[i]);
            var start = t.LocationLineStart[i];
            var count = t.LocationLineCount[i];
            for (var j = 0; j < count; j++)
            {
                hash.Add(t.LineFunction[start + j]);
                hash.Add(t.LineNumber[start + j]);
            }
            return hash.ToHashCode();
        }
    }
}
