namespace Pyroscope.WebUI.Tests;

/// <summary>A call tree built from stacks, encoded as flamebearer levels (single and diff) for the test host.</summary>
public sealed class FlameTree
{
    public sealed class Node(string name)
    {
        public string Name { get; } = name;
        public long Self;
        public long Total;
        public SortedDictionary<string, Node> Children { get; } = new(StringComparer.Ordinal);

        public Node Child(string name)
        {
            if (!Children.TryGetValue(name, out var c)) Children[name] = c = new Node(name);
            return c;
        }
    }

    public Node Root { get; } = new("total");

    public void Add(IReadOnlyList<string> frames, long value)
    {
        if (value == 0) return;
        var node = Root;
        node.Total += value;
        foreach (var f in frames)
        {
            node = node.Child(f);
            node.Total += value;
        }
        node.Self += value;
    }

    public int NodeCount() => Count(Root);
    private static int Count(Node n) { var c = 1; foreach (var ch in n.Children.Values) c += Count(ch); return c; }

    /// <summary>Levels of [x_delta, total, self, name]; self sits left of the children.</summary>
    public (List<string> Names, List<List<long>> Levels, long MaxSelf) Single()
    {
        var names = new List<string>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var levels = new List<List<long>>();
        var ends = new List<long>();
        long maxSelf = 0;
        void Visit(Node n, int depth, long x)
        {
            if (levels.Count == depth) { levels.Add([]); ends.Add(0); }
            if (!index.TryGetValue(n.Name, out var ni)) { ni = names.Count; names.Add(n.Name); index[n.Name] = ni; }
            levels[depth].AddRange([x - ends[depth], n.Total, n.Self, ni]);
            ends[depth] = x + n.Total;
            maxSelf = Math.Max(maxSelf, n.Self);
            var cx = x + n.Self;
            foreach (var c in n.Children.Values) { Visit(c, depth + 1, cx); cx += c.Total; }
        }
        Visit(Root, 0, 0);
        return (names, levels, maxSelf);
    }

    /// <summary>Diff levels of [lx, ltotal, lself, rx, rtotal, rself, name] over the union of both trees.</summary>
    public static (List<string> Names, List<List<long>> Levels, long MaxSelf) Diff(FlameTree left, FlameTree right)
    {
        var names = new List<string>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var levels = new List<List<long>>();
        var lEnds = new List<long>();
        var rEnds = new List<long>();
        long maxSelf = 0;
        var empty = new Node("");
        void Visit(string name, Node l, Node r, int depth, long lx, long rx)
        {
            if (levels.Count == depth) { levels.Add([]); lEnds.Add(0); rEnds.Add(0); }
            if (!index.TryGetValue(name, out var ni)) { ni = names.Count; names.Add(name); index[name] = ni; }
            levels[depth].AddRange([lx - lEnds[depth], l.Total, l.Self, rx - rEnds[depth], r.Total, r.Self, ni]);
            lEnds[depth] = lx + l.Total;
            rEnds[depth] = rx + r.Total;
            maxSelf = Math.Max(maxSelf, Math.Max(l.Self, r.Self));
            var childNames = new SortedSet<string>(l.Children.Keys, StringComparer.Ordinal);
            childNames.UnionWith(r.Children.Keys);
            long clx = lx + l.Self, crx = rx + r.Self;
            foreach (var c in childNames)
            {
                var lc = l.Children.GetValueOrDefault(c) ?? empty;
                var rc = r.Children.GetValueOrDefault(c) ?? empty;
                Visit(c, lc, rc, depth + 1, clx, crx);
                clx += lc.Total; crx += rc.Total;
            }
        }
        Visit("total", left.Root, right.Root, 0, 0, 0);
        return (names, levels, maxSelf);
    }
}
