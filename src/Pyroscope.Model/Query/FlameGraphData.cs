using System.Buffers;

namespace Pyroscope.Model.Query;

/// <summary>
/// A flame graph as upstream's querier.v1.FlameGraph lays it out: <c>Levels[d]</c> holds, per node
/// of depth d from left to right, <c>[x_delta, total, self, name_index]</c>, where x_delta is
/// relative to the end of the previous node of the row. Row 0 is the root, named "total".
/// </summary>
public sealed record FlameGraphData(IReadOnlyList<string> Names, long[][] Levels, long Total, long MaxSelf)
{
    public const int DefaultMaxNodes = 8192;

    /// <summary>Renders <paramref name="tree"/>, folding nodes below the max-nodes threshold into "other".</summary>
    public static FlameGraphData From(StackTree tree, long maxNodes)
    {
        var minValue = tree.MinValue(maxNodes);
        var otherId = tree.Intern(StackTree.OtherName);
        var names = new List<string>();
        // Output name index per tree name id; the root uses the extra last slot.
        var nameIndex = ArrayPool<int>.Shared.Rent(tree.NameCount + 1);
        var rootSlot = tree.NameCount;
        Array.Fill(nameIndex, -1, 0, tree.NameCount + 1);
        var levels = new List<LevelBuilder>();
        var stack = new Stack<Frame>();
        stack.Push(new Frame(StackTree.Root, 0, 0, 0));
        long maxSelf = 0;
        try
        {
            while (stack.TryPop(out var current))
            {
                var node = current.Node;
                long self, total;
                int slot;
                if (node < 0)
                {
                    self = total = current.OtherValue;
                    slot = otherId;
                }
                else
                {
                    self = tree.SelfOf(node);
                    total = tree.TotalOf(node);
                    slot = node == StackTree.Root ? rootSlot : tree.NameIdOf(node);
                }
                if (self > maxSelf)
                {
                    maxSelf = self;
                }
                var index = nameIndex[slot];
                if (index < 0)
                {
                    index = names.Count;
                    nameIndex[slot] = index;
                    names.Add(index == 0 ? "total" : tree.NameOf(slot));
                }
                if (current.Level == levels.Count)
                {
                    levels.Add(new LevelBuilder());
                }
                levels[current.Level].Add(current.X, total, self, index);
                if (node < 0)
                {
                    continue;
                }
                var x = current.X + self;
                long other = 0;
                foreach (var child in tree.Children(node))
                {
                    var childTotal = tree.TotalOf(child);
                    if (childTotal >= minValue && tree.NameIdOf(child) != otherId)
                    {
                        stack.Push(new Frame(child, current.Level + 1, x, 0));
                        x = Saturating.Add(x, childTotal);
                    }
                    else
                    {
                        other = Saturating.Add(other, childTotal);
                    }
                }
                if (other != 0)
                {
                    stack.Push(new Frame(-1, current.Level + 1, x, other));
                }
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(nameIndex);
        }
        var result = new long[levels.Count][];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = levels[i].ToDeltaEncoded(4);
        }
        return new FlameGraphData(names, result, tree.Total, maxSelf);
    }

    private readonly record struct Frame(int Node, int Level, long X, long OtherValue);

    /// <summary>Collects one row in visiting order (right to left) and emits it left to right.</summary>
    internal sealed class LevelBuilder
    {
        private long[] _values = new long[16];
        private int _count;

        public void Add(long x, long total, long self, long name) => Add4(x, total, self, name);

        public void Add7(long lx, long lt, long ls, long rx, long rt, long rs, long name)
        {
            Ensure(7);
            _values[_count++] = lx;
            _values[_count++] = lt;
            _values[_count++] = ls;
            _values[_count++] = rx;
            _values[_count++] = rt;
            _values[_count++] = rs;
            _values[_count++] = name;
        }

        private void Add4(long a, long b, long c, long d)
        {
            Ensure(4);
            _values[_count++] = a;
            _values[_count++] = b;
            _values[_count++] = c;
            _values[_count++] = d;
        }

        private void Ensure(int n)
        {
            if (_count + n > _values.Length)
            {
                Array.Resize(ref _values, Math.Max(_values.Length * 2, _count + n));
            }
        }

        /// <summary>Reverses node order and turns absolute x offsets (at each offset column) into deltas.</summary>
        public long[] ToDeltaEncoded(int width, params ReadOnlySpan<int> xColumns)
        {
            if (xColumns.IsEmpty)
            {
                xColumns = [0];
            }
            var result = new long[_count];
            var nodes = _count / width;
            for (var i = 0; i < nodes; i++)
            {
                Array.Copy(_values, (nodes - 1 - i) * width, result, i * width, width);
            }
            foreach (var column in xColumns)
            {
                long prev = 0;
                for (var i = column; i < result.Length; i += width)
                {
                    result[i] -= prev;
                    prev += result[i] + result[i + 1];
                }
            }
            return result;
        }
    }
}
