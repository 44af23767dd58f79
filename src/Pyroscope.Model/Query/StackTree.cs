using System.Numerics;
using System.Buffers;
using System.Runtime.CompilerServices;

namespace Pyroscope.Model.Query;

/// <summary>
/// A merged call tree. Frame names are interned once; nodes live in columnar arrays and are
/// found by (parent, name id) in an open-addressing table, so adding a sample allocates nothing.
/// Node 0 is the virtual root. Not thread-safe: feed it from one source at a time, or build one
/// tree per source and <see cref="Merge"/> them.
/// </summary>
public sealed class StackTree : IStackSink
{
    public const string OtherName = "other";
    public const int Root = 0;

    private readonly Dictionary<string, int> _nameIds = new(StringComparer.Ordinal);
    private string[] _names = new string[256];
    private int _nameCount;

    private int[] _parent;
    private int[] _name;
    private long[] _self;
    private long[] _total;
    private int _count;

    // (parent, name) → node; key -1 marks an empty slot.
    private long[] _slotKeys;
    private int[] _slotNodes;
    private int _slotMask;

    // Whole-stack cache: samples repeat the same stacks across profiles, so a stack is hashed once
    // and its leaf found without a lookup per frame. A stack is identified by 96 bits of its
    // XxHash128 (which also mixes in the length): a false match needs a collision among ~2^48
    // distinct stacks, far beyond any tree that fits in memory. Verifying each hit exactly (parent
    // chain or a stored copy of the stack) was measured at ~2x the cost of Add, as it misses cache.
    private StackEntry[] _cache;
    private int _cacheMask;
    private int _cacheCount;

    private struct StackEntry
    {
        public ulong Hash;
        public uint Check;
        public int Leaf;
    }

    // Totals are derived from self values on demand (one pass), so adding a sample touches one node.
    private bool _totalsDirty;

    // Children sorted by name, built on demand for renderers; dropped whenever the tree changes.
    private int[]? _childStart;
    private int[]? _childList;

    public StackTree(int capacity = 1024)
    {
        capacity = Math.Max(16, capacity);
        _parent = new int[capacity];
        _name = new int[capacity];
        _self = new long[capacity];
        _total = new long[1];
        _parent[0] = -1;
        _name[0] = -1;
        _count = 1;
        var slots = (int)BitOperations.RoundUpToPowerOf2((uint)capacity * 2);
        _slotKeys = new long[slots];
        _slotNodes = new int[slots];
        Array.Fill(_slotKeys, -1L);
        _slotMask = slots - 1;
        _cache = new StackEntry[slots];
        _cacheMask = slots - 1;
    }

    /// <summary>Sum of all sample values.</summary>
    public long Total
    {
        get
        {
            EnsureTotals();
            return _total[Root];
        }
    }

    /// <summary>Number of nodes, not counting the virtual root.</summary>
    public int NodeCount => _count - 1;

    internal int Count => _count;

    public int NameCount => _nameCount;

    public string NameOf(int nameId) => _names[nameId];

    public int NameIdOf(int node) => _name[node];

    public int ParentOf(int node) => _parent[node];

    public long SelfOf(int node) => _self[node];

    public long TotalOf(int node)
    {
        if (_totalsDirty)
        {
            EnsureTotals();
        }
        return _total[node];
    }

    public string NodeName(int node) => node == Root ? string.Empty : _names[_name[node]];

    public int Intern(string frameName)
    {
        // One hash per call, found or added (a custom string table measured no faster: the cost is
        // reading and comparing the strings, not hashing them).
        ref var slot = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_nameIds, frameName, out var exists);
        if (exists)
        {
            return slot;
        }
        var id = _nameCount++;
        if (id == _names.Length)
        {
            Array.Resize(ref _names, id * 2);
        }
        _names[id] = frameName;
        slot = id;
        return id;
    }

    public bool TryGetNameId(string frameName, out int id) => _nameIds.TryGetValue(frameName, out id);

    public void Add(ReadOnlySpan<int> rootToLeaf, long value)
    {
        // As upstream: non-positive values and empty stacks carry nothing to show.
        if (value <= 0 || rootToLeaf.IsEmpty)
        {
            return;
        }
        _totalsDirty = true;
        var hash128 = System.IO.Hashing.XxHash128.HashToUInt128(System.Runtime.InteropServices.MemoryMarshal.AsBytes(rootToLeaf));
        var hash = (ulong)(hash128 >> 64);
        var check = (uint)hash128;
        var slot = (int)hash & _cacheMask;
        ref var entry = ref _cache[slot];
        while (entry.Leaf != 0)
        {
            if (entry.Hash == hash && entry.Check == check)
            {
                _self[entry.Leaf] = Saturating.Add(_self[entry.Leaf], value);
                return;
            }
            slot = (slot + 1) & _cacheMask;
            entry = ref _cache[slot];
        }
        var node = Root;
        foreach (var nameId in rootToLeaf)
        {
            if ((uint)nameId >= (uint)_nameCount)
            {
                throw new ArgumentOutOfRangeException(nameof(rootToLeaf), $"frame id {nameId} was not interned");
            }
            node = GetOrAddChild(node, nameId);
        }
        _self[node] = Saturating.Add(_self[node], value);
        entry = new StackEntry { Hash = hash, Check = check, Leaf = node };
        if (++_cacheCount * 2 > _cache.Length)
        {
            GrowCache();
        }
    }

    private void GrowCache()
    {
        var size = _cache.Length * 2;
        var entries = new StackEntry[size];
        var mask = size - 1;
        foreach (var e in _cache)
        {
            if (e.Leaf == 0)
            {
                continue;
            }
            var slot = (int)e.Hash & mask;
            while (entries[slot].Leaf != 0)
            {
                slot = (slot + 1) & mask;
            }
            entries[slot] = e;
        }
        _cache = entries;
        _cacheMask = mask;
    }

    /// <summary>Recomputes every node's total from self values: children always follow their parent in index order.</summary>
    private void EnsureTotals()
    {
        if (!_totalsDirty)
        {
            return;
        }
        // Totals live in their own array, sized here rather than on every growth during adds.
        if (_total.Length < _count)
        {
            _total = new long[_parent.Length];
        }
        Array.Copy(_self, _total, _count);
        for (var n = _count - 1; n > 0; n--)
        {
            _total[_parent[n]] = Saturating.Add(_total[_parent[n]], _total[n]);
        }
        _totalsDirty = false;
    }

    /// <summary>Adds a stack given as names (tests, small inputs).</summary>
    public void Add(long value, params ReadOnlySpan<string> rootToLeaf)
    {
        Span<int> ids = rootToLeaf.Length <= 256 ? stackalloc int[rootToLeaf.Length] : new int[rootToLeaf.Length];
        for (var i = 0; i < rootToLeaf.Length; i++)
        {
            ids[i] = Intern(rootToLeaf[i]);
        }
        Add(ids, value);
    }

    /// <summary>Adds every node of <paramref name="other"/> to this tree.</summary>
    public void Merge(StackTree other)
    {
        var nameMap = ArrayPool<int>.Shared.Rent(Math.Max(1, other._nameCount));
        var nodeMap = ArrayPool<int>.Shared.Rent(other._count);
        try
        {
            for (var i = 0; i < other._nameCount; i++)
            {
                nameMap[i] = Intern(other._names[i]);
            }
            nodeMap[Root] = Root;
            _totalsDirty = true;
            _self[Root] = Saturating.Add(_self[Root], other._self[Root]);
            // A node's index is always greater than its parent's, so one pass in index order works.
            for (var n = 1; n < other._count; n++)
            {
                var mine = GetOrAddChild(nodeMap[other._parent[n]], nameMap[other._name[n]]);
                nodeMap[n] = mine;
                _self[mine] = Saturating.Add(_self[mine], other._self[n]);
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(nameMap);
            ArrayPool<int>.Shared.Return(nodeMap);
        }
    }

    /// <summary>Children of <paramref name="node"/>, sorted by name (ordinal).</summary>
    public ReadOnlySpan<int> Children(int node)
    {
        EnsureChildren();
        return _childList.AsSpan(_childStart![node], _childStart[node + 1] - _childStart[node]);
    }

    /// <summary>
    /// The smallest total a node needs to stay visible when at most <paramref name="maxNodes"/>
    /// nodes are shown: the maxNodes-th largest node total (upstream's rule), or 0 when all fit.
    /// </summary>
    public long MinValue(long maxNodes)
    {
        EnsureTotals();
        var n = _count - 1;
        if (maxNodes < 1 || n <= maxNodes)
        {
            return 0;
        }
        var totals = ArrayPool<long>.Shared.Rent(n);
        try
        {
            Array.Copy(_total, 1, totals, 0, n);
            return KthLargest(totals.AsSpan(0, n), (int)maxNodes);
        }
        finally
        {
            ArrayPool<long>.Shared.Return(totals);
        }
    }

    /// <summary>The k-th largest value (1-based) of <paramref name="values"/>; reorders it.</summary>
    internal static long KthLargest(Span<long> values, int k)
    {
        // Quickselect for index k-1 in descending order.
        var target = k - 1;
        var lo = 0;
        var hi = values.Length - 1;
        while (lo < hi)
        {
            var pivot = values[lo + ((hi - lo) >> 1)];
            var i = lo;
            var j = hi;
            while (i <= j)
            {
                while (values[i] > pivot) i++;
                while (values[j] < pivot) j--;
                if (i <= j)
                {
                    (values[i], values[j]) = (values[j], values[i]);
                    i++;
                    j--;
                }
            }
            if (target <= j)
            {
                hi = j;
            }
            else if (target >= i)
            {
                lo = i;
            }
            else
            {
                break;
            }
        }
        return values[target];
    }

    private int GetOrAddChild(int parent, int nameId)
    {
        var key = ((long)parent << 32) | (uint)nameId;
        var slot = Hash(key) & _slotMask;
        while (true)
        {
            var k = _slotKeys[slot];
            if (k == key)
            {
                return _slotNodes[slot];
            }
            if (k == -1)
            {
                break;
            }
            slot = (slot + 1) & _slotMask;
        }
        var node = _count;
        if (node == _parent.Length)
        {
            var size = node * 2;
            Array.Resize(ref _parent, size);
            Array.Resize(ref _name, size);
            Array.Resize(ref _self, size);
        }
        _parent[node] = parent;
        _name[node] = nameId;
        _count++;
        _slotKeys[slot] = key;
        _slotNodes[slot] = node;
        _childStart = null;
        if (_count * 2 > _slotKeys.Length)
        {
            GrowSlots();
        }
        return node;
    }

    private void GrowSlots()
    {
        var size = _slotKeys.Length * 2;
        var keys = new long[size];
        var nodes = new int[size];
        Array.Fill(keys, -1L);
        var mask = size - 1;
        for (var i = 0; i < _slotKeys.Length; i++)
        {
            var key = _slotKeys[i];
            if (key == -1)
            {
                continue;
            }
            var slot = Hash(key) & mask;
            while (keys[slot] != -1)
            {
                slot = (slot + 1) & mask;
            }
            keys[slot] = key;
            nodes[slot] = _slotNodes[i];
        }
        _slotKeys = keys;
        _slotNodes = nodes;
        _slotMask = mask;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Hash(long key)
    {
        var h = (ulong)key * 0x9E3779B97F4A7C15UL;
        return (int)(h >> 32) ^ (int)h;
    }

    private void EnsureChildren()
    {
        EnsureTotals();
        if (_childStart is not null)
        {
            return;
        }
        var count = _count;
        var start = new int[count + 1];
        var list = new int[Math.Max(0, count - 1)];
        for (var n = 1; n < count; n++)
        {
            start[_parent[n] + 1]++;
        }
        for (var i = 0; i < count; i++)
        {
            start[i + 1] += start[i];
        }
        var fill = ArrayPool<int>.Shared.Rent(count);
        try
        {
            Array.Copy(start, fill, count);
            for (var n = 1; n < count; n++)
            {
                list[fill[_parent[n]]++] = n;
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(fill);
        }

        // Rank names once so siblings sort by an int instead of a string comparison.
        var order = new int[_nameCount];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }
        var names = _names;
        Array.Sort(order, (a, b) => string.CompareOrdinal(names[a], names[b]));
        var rank = new int[_nameCount];
        for (var i = 0; i < order.Length; i++)
        {
            rank[order[i]] = i;
        }
        var keys = new int[list.Length];
        for (var i = 0; i < list.Length; i++)
        {
            keys[i] = rank[_name[list[i]]];
        }
        for (var p = 0; p < count; p++)
        {
            var len = start[p + 1] - start[p];
            if (len > 1)
            {
                Array.Sort(keys, list, start[p], len);
            }
        }
        _childStart = start;
        _childList = list;
    }
}
