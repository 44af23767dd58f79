namespace Pyroscope.Model.Query;

/// <summary>
/// A diff flame graph as upstream lays it out: 7 ints per node
/// <c>[left_x_delta, left_total, left_self, right_x_delta, right_total, right_self, name_index]</c>,
/// over the union of both trees' nodes.
/// </summary>
public sealed record FlameGraphDiffData(IReadOnlyList<string> Names, long[][] Levels, long Total, long MaxSelf, long LeftTicks, long RightTicks)
{
    public static FlameGraphDiffData From(StackTree left, StackTree right, long maxNodes)
    {
        var combined = Combined.Build(left, right);
        long minValue = 0;
        if (maxNodes > 0 && combined.Count > maxNodes)
        {
            var values = new long[combined.Count];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = Math.Max(combined.LeftTotal[i], combined.RightTotal[i]);
            }
            minValue = StackTree.KthLargest(values, (int)maxNodes);
        }

        var names = new List<string>();
        var nameIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var levels = new List<FlameGraphData.LevelBuilder>();
        var stack = new Stack<Frame>();
        stack.Push(new Frame(0, 0, 0, 0, 0, 0));
        long maxSelf = 0;
        while (stack.TryPop(out var f))
        {
            string name;
            long lt, ls, rt, rs;
            if (f.Node < 0)
            {
                name = StackTree.OtherName;
                lt = ls = f.OtherLeft;
                rt = rs = f.OtherRight;
            }
            else
            {
                name = combined.Names[f.Node];
                lt = combined.LeftTotal[f.Node];
                ls = combined.LeftSelf[f.Node];
                rt = combined.RightTotal[f.Node];
                rs = combined.RightSelf[f.Node];
                if (!(lt >= minValue || rt >= minValue || name == StackTree.OtherName))
                {
                    continue;
                }
            }
            if (!nameIndex.TryGetValue(name, out var index))
            {
                index = names.Count;
                nameIndex.Add(name, index);
                names.Add(index == 0 ? "total" : name);
            }
            if (f.Level == levels.Count)
            {
                levels.Add(new FlameGraphData.LevelBuilder());
            }
            maxSelf = Math.Max(maxSelf, Math.Max(ls, rs));
            levels[f.Level].Add7(f.LeftX, lt, ls, f.RightX, rt, rs, index);
            if (f.Node < 0)
            {
                continue;
            }
            var lx = f.LeftX + ls;
            var rx = f.RightX + rs;
            long otherLeft = 0, otherRight = 0;
            var end = combined.ChildStart[f.Node] + combined.ChildCount[f.Node];
            for (var c = combined.ChildStart[f.Node]; c < end; c++)
            {
                if (combined.LeftTotal[c] >= minValue || combined.RightTotal[c] >= minValue)
                {
                    stack.Push(new Frame(c, f.Level + 1, lx, rx, 0, 0));
                    lx = Saturating.Add(lx, combined.LeftTotal[c]);
                    rx = Saturating.Add(rx, combined.RightTotal[c]);
                }
                else
                {
                    otherLeft = Saturating.Add(otherLeft, combined.LeftTotal[c]);
                    otherRight = Saturating.Add(otherRight, combined.RightTotal[c]);
                }
            }
            if (otherLeft != 0 || otherRight != 0)
            {
                stack.Push(new Frame(-1, f.Level + 1, lx, rx, otherLeft, otherRight));
            }
        }
        var result = new long[levels.Count][];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = levels[i].ToDeltaEncoded(7, 0, 3);
        }
        return new FlameGraphDiffData(names, result, left.Total + right.Total, maxSelf, left.Total, right.Total);
    }

    private readonly record struct Frame(int Node, int Level, long LeftX, long RightX, long OtherLeft, long OtherRight);

    /// <summary>Both trees aligned on one shape: a node exists when either side has it.</summary>
    private sealed class Combined
    {
        public readonly List<string> Names = [];
        public readonly List<long> LeftTotal = [];
        public readonly List<long> LeftSelf = [];
        public readonly List<long> RightTotal = [];
        public readonly List<long> RightSelf = [];
        public readonly List<int> ChildStart = [];
        public readonly List<int> ChildCount = [];

        public int Count => Names.Count;

        public static Combined Build(StackTree left, StackTree right)
        {
            var c = new Combined();
            var leftNodes = new List<int>();
            var rightNodes = new List<int>();
            c.Append(string.Empty, left, StackTree.Root, right, StackTree.Root, leftNodes, rightNodes);
            for (var i = 0; i < c.Count; i++)
            {
                c.ChildStart[i] = c.Count;
                var lc = leftNodes[i] >= 0 ? left.Children(leftNodes[i]) : default;
                var rc = rightNodes[i] >= 0 ? right.Children(rightNodes[i]) : default;
                int a = 0, b = 0;
                while (a < lc.Length || b < rc.Length)
                {
                    int cmp;
                    if (a == lc.Length) cmp = 1;
                    else if (b == rc.Length) cmp = -1;
                    else cmp = string.CompareOrdinal(left.NodeName(lc[a]), right.NodeName(rc[b]));
                    if (cmp == 0)
                    {
                        c.Append(left.NodeName(lc[a]), left, lc[a++], right, rc[b++], leftNodes, rightNodes);
                    }
                    else if (cmp < 0)
                    {
                        c.Append(left.NodeName(lc[a]), left, lc[a++], right, -1, leftNodes, rightNodes);
                    }
                    else
                    {
                        c.Append(right.NodeName(rc[b]), left, -1, right, rc[b++], leftNodes, rightNodes);
                    }
                }
                c.ChildCount[i] = c.Count - c.ChildStart[i];
            }
            return c;
        }

        private void Append(string name, StackTree left, int ln, StackTree right, int rn, List<int> leftNodes, List<int> rightNodes)
        {
            Names.Add(name);
            LeftTotal.Add(ln >= 0 ? left.TotalOf(ln) : 0);
            LeftSelf.Add(ln >= 0 ? left.SelfOf(ln) : 0);
            RightTotal.Add(rn >= 0 ? right.TotalOf(rn) : 0);
            RightSelf.Add(rn >= 0 ? right.SelfOf(rn) : 0);
            ChildStart.Add(0);
            ChildCount.Add(0);
            leftNodes.Add(ln);
            rightNodes.Add(rn);
        }
    }
}
