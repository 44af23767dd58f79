using System.Globalization;
using System.Text;

namespace Pyroscope.Model.Query;

/// <summary>
/// A merged profile as a Graphviz call graph, drawn as <c>go tool pprof -dot</c> draws one: one box per function with
/// its flat and cumulative value, one arrow per caller → callee with the value that went through it. Functions below
/// 0.5% of the total and arrows below 0.1% are dropped (pprof's default node and edge fractions); of the rest the
/// <c>maxNodes</c> with the highest cumulative value are kept; an arrow that skips dropped functions is dotted.
/// pprof's label nodelets and its entropy-based choice among nodes are left out.
/// </summary>
public static class DotGraph
{
    public const int DefaultMaxNodes = 100;
    private const double NodeFraction = 0.005;
    private const double EdgeFraction = 0.001;

    public static string Render(StackTree tree, string sampleType, string sampleUnit, int maxNodes = DefaultMaxNodes)
    {
        var total = tree.Total;
        var functions = tree.NameCount;
        var flat = new long[functions];
        var cum = new long[functions];
        Walk(tree, (node, nameId, firstOnPath) =>
        {
            flat[nameId] += tree.SelfOf(node);
            if (firstOnPath)
            {
                cum[nameId] += tree.TotalOf(node);
            }
        });

        var nodeCutoff = Math.Abs((long)(total * NodeFraction));
        var edgeCutoff = Math.Abs((long)(total * EdgeFraction));
        var candidates = new List<int>();
        var dropped = 0;
        for (var f = 0; f < functions; f++)
        {
            if (cum[f] == 0 && flat[f] == 0)
            {
                continue; // interned, never used (e.g. "other")
            }
            if (Math.Abs(cum[f]) < nodeCutoff)
            {
                dropped++;
                continue;
            }
            candidates.Add(f);
        }
        candidates.Sort((a, b) => cum[b] != cum[a] ? Math.Abs(cum[b]).CompareTo(Math.Abs(cum[a])) : string.CompareOrdinal(tree.NameOf(a), tree.NameOf(b)));
        if (maxNodes > 0 && candidates.Count > maxNodes)
        {
            dropped += candidates.Count - maxNodes;
            candidates.RemoveRange(maxNodes, candidates.Count - maxNodes);
        }
        var nodeId = new int[functions];
        for (var i = 0; i < candidates.Count; i++)
        {
            nodeId[candidates[i]] = i + 1;
        }

        var edges = Edges(tree, nodeId);
        var droppedEdges = 0;
        var kept = new List<KeyValuePair<(int From, int To), Edge>>(edges.Count);
        foreach (var e in edges)
        {
            if (Math.Abs(e.Value.Weight) < edgeCutoff)
            {
                droppedEdges++;
            }
            else
            {
                kept.Add(e);
            }
        }
        kept.Sort((a, b) => a.Value.Weight != b.Value.Weight
            ? Math.Abs(b.Value.Weight).CompareTo(Math.Abs(a.Value.Weight))
            : (a.Key.From, a.Key.To).CompareTo((b.Key.From, b.Key.To)));

        long shown = 0, minValue = 0, maxFlat = 0;
        foreach (var f in candidates)
        {
            shown += flat[f];
            var v = Math.Abs(flat[f]) != 0 ? Math.Abs(flat[f]) : Math.Abs(cum[f]);
            if (v > 0 && (minValue == 0 || v < minValue))
            {
                minValue = v;
            }
            maxFlat = Math.Max(maxFlat, Math.Abs(flat[f]));
        }
        var format = new ValueFormat(sampleUnit, minValue == 0 ? total : minValue, total);

        var dot = new StringBuilder();
        dot.Append("digraph \"unnamed\" {\n");
        dot.Append("node [style=filled fillcolor=\"#f8f8f8\"]\n");
        var legend = new List<string> { "Type: " + sampleType };
        legend.Add($"Showing nodes accounting for {format.Of(shown)}, {Percentage(shown, total)} of {format.Of(total)} total");
        if (dropped > 0)
        {
            legend.Add($"Dropped {dropped} nodes (cum <= {format.Of(nodeCutoff)})");
        }
        if (droppedEdges > 0)
        {
            legend.Add($"Dropped {droppedEdges} edges (freq <= {format.Of(edgeCutoff)})");
        }
        dot.Append("subgraph cluster_L { \"").Append(Escape(legend[0])).Append("\" [shape=box fontsize=16 label=\"");
        foreach (var line in legend)
        {
            dot.Append(Escape(line)).Append("\\l");
        }
        dot.Append("\"] }\n");

        foreach (var f in candidates)
        {
            var name = tree.NameOf(f);
            var label = new StringBuilder(MultilineName(name));
            label.Append(flat[f] != 0 ? $"{format.Of(flat[f])} ({Percentage(flat[f], total)})" : "0");
            if (cum[f] != flat[f])
            {
                label.Append(flat[f] != 0 ? "\\n" : " ").Append($"of {format.Of(cum[f])} ({Percentage(cum[f], total)})");
            }
            var fontSize = 8;
            if (maxFlat != 0 && flat[f] != 0)
            {
                fontSize += (int)Math.Ceiling(16.0 * Math.Sqrt(Math.Abs(flat[f]) / (double)maxFlat));
            }
            var score = total == 0 ? 0 : cum[f] / (double)Math.Abs(total);
            dot.Append(CultureInfo.InvariantCulture,
                $"N{nodeId[f]} [label=\"{label}\" id=\"node{nodeId[f]}\" fontsize={fontSize} shape=box tooltip=\"{Escape(name)} ({format.Of(cum[f])})\" color=\"{Color(score, false)}\" fillcolor=\"{Color(score, true)}\"]\n");
        }
        foreach (var ((from, to), edge) in kept)
        {
            var weight = format.Of(edge.Weight);
            dot.Append(CultureInfo.InvariantCulture, $"N{nodeId[from]} -> N{nodeId[to]} [label=\" {weight}\"");
            if (total != 0)
            {
                var w = 1 + (int)Math.Min(Math.Abs(edge.Weight * 100 / total), 100);
                if (w > 1)
                {
                    dot.Append(CultureInfo.InvariantCulture, $" weight={w}");
                }
                var width = 1 + (int)Math.Min(Math.Abs(edge.Weight * 5 / total), 5);
                if (width > 1)
                {
                    dot.Append(CultureInfo.InvariantCulture, $" penwidth={width}");
                }
                dot.Append(" color=\"").Append(Color(edge.Weight / (double)Math.Abs(total), false)).Append('"');
            }
            var tooltip = $"\"{Escape(tree.NameOf(from))} {(edge.Residual ? "..." : "->")} {Escape(tree.NameOf(to))} ({weight})\"";
            dot.Append(" tooltip=").Append(tooltip).Append(" labeltooltip=").Append(tooltip);
            if (edge.Residual)
            {
                dot.Append(" style=\"dotted\"");
            }
            dot.Append("]\n");
        }
        dot.Append("}\n");
        return dot.ToString();
    }

    private struct Edge
    {
        public long Weight;
        public bool Residual;
    }

    /// <summary>
    /// Arrows between kept functions (<paramref name="nodeId"/> &gt; 0): each sample counts once per arrow, an arrow
    /// from a function to itself is not drawn, and one that passes over dropped functions is residual.
    /// </summary>
    private static Dictionary<(int, int), Edge> Edges(StackTree tree, int[] nodeId)
    {
        var edges = new Dictionary<(int, int), Edge>();
        var onPath = new Dictionary<(int, int), int>();
        // Per tree node on the current path: the nearest kept function at or above it, whether functions were
        // dropped since, and the arrow it added to the path (to take off again on the way back).
        var state = new Stack<(int Node, int LastKept, bool Skipped, (int, int)? Arrow, bool Exit)>();
        foreach (var child in tree.Children(StackTree.Root))
        {
            state.Push((child, -1, false, null, false));
        }
        var path = new Stack<(int LastKept, bool Skipped)>();
        while (state.TryPop(out var item))
        {
            if (item.Exit)
            {
                path.Pop();
                if (item.Arrow is { } done && --onPath[done] == 0)
                {
                    onPath.Remove(done);
                }
                continue;
            }
            var (lastKept, skipped) = (item.LastKept, item.Skipped);
            var f = tree.NameIdOf(item.Node);
            (int, int)? arrow = null;
            if (nodeId[f] > 0)
            {
                if (lastKept >= 0 && lastKept != f)
                {
                    var key = (lastKept, f);
                    var count = onPath.GetValueOrDefault(key);
                    if (count == 0)
                    {
                        var e = edges.GetValueOrDefault(key);
                        e.Weight += tree.TotalOf(item.Node);
                        e.Residual |= skipped;
                        edges[key] = e;
                    }
                    onPath[key] = count + 1;
                    arrow = key;
                }
                (lastKept, skipped) = (f, false);
            }
            else
            {
                skipped = true;
            }
            path.Push((lastKept, skipped));
            state.Push((item.Node, 0, false, arrow, true));
            foreach (var child in tree.Children(item.Node))
            {
                state.Push((child, lastKept, skipped, null, false));
            }
        }
        return edges;
    }

    /// <summary>Depth-first over every node, telling whether its function appears above it on the path.</summary>
    private static void Walk(StackTree tree, Action<int, int, bool> visit)
    {
        var onPath = new int[tree.NameCount];
        var stack = new Stack<(int Node, bool Exit)>();
        foreach (var child in tree.Children(StackTree.Root))
        {
            stack.Push((child, false));
        }
        while (stack.TryPop(out var item))
        {
            var f = tree.NameIdOf(item.Node);
            if (item.Exit)
            {
                onPath[f]--;
                continue;
            }
            visit(item.Node, f, onPath[f] == 0);
            onPath[f]++;
            stack.Push((item.Node, true));
            foreach (var child in tree.Children(item.Node))
            {
                stack.Push((child, false));
            }
        }
    }

    /// <summary>The name without its package path, one line per dot-separated part, as pprof labels nodes.</summary>
    private static string MultilineName(string name)
    {
        var open = name.IndexOf('(', StringComparison.Ordinal);
        var slash = (open < 0 ? name : name[..open]).LastIndexOf('/');
        var shortName = slash >= 0 ? name[(slash + 1)..] : name;
        return Escape(shortName).Replace("::", "\\n", StringComparison.Ordinal).Replace(".", "\\n", StringComparison.Ordinal) + "\\n";
    }

    private static string Escape(string text) =>
        text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\l", StringComparison.Ordinal);

    /// <summary>pprof's percentage text: at least two significant digits.</summary>
    internal static string Percentage(long value, long total)
    {
        var ratio = total == 0 ? 0 : Math.Abs(value / (double)total) * 100;
        if (ratio is >= 99.95 and <= 100.05)
        {
            return "100%";
        }
        return ratio >= 1
            ? ratio.ToString("0.00", CultureInfo.InvariantCulture) + "%"
            : ratio.ToString("G2", CultureInfo.InvariantCulture) + "%";
    }

    /// <summary>Red for a large positive share, grey near zero (pprof's palette).</summary>
    private static string Color(double score, bool background)
    {
        const double shift = 0.7;
        var (saturation, value) = background ? (0.1, 0.93) : (1.0, 0.7);
        score = Math.Clamp(score, -1.0, 1.0);
        if (Math.Abs(score) < 0.2)
        {
            saturation *= Math.Abs(score) / 0.2;
        }
        score = score > 0 ? Math.Pow(score, 1 - shift) : score < 0 ? -Math.Pow(-score, 1 - shift) : 0;
        double r, g;
        if (score < 0)
        {
            g = value;
            r = value * (1 + saturation * score);
        }
        else
        {
            r = value;
            g = value * (1 - saturation * score);
        }
        var b = value * (1 - saturation);
        return $"#{(byte)(r * 255):x2}{(byte)(g * 255):x2}{(byte)(b * 255):x2}";
    }

    /// <summary>
    /// Values in one unit for the whole graph, chosen as pprof's "minimum" output unit: the unit of the smallest
    /// shown value, or of a hundred times it when the total needs a larger one.
    /// </summary>
    private sealed class ValueFormat
    {
        private static readonly (string Name, double Factor)[] Time = [("ns", 1), ("us", 1e3), ("ms", 1e6), ("s", 1e9), ("hrs", 3600e9)];
        private static readonly (string Name, double Factor)[] Memory = [("B", 1), ("kB", 1 << 10), ("MB", 1 << 20), ("GB", 1 << 30), ("TB", 1L << 40), ("PB", 1L << 50)];

        private readonly double _factor = 1;
        private readonly string _unit = "";

        public ValueFormat(string sampleUnit, long minValue, long maxValue)
        {
            var (units, baseFactor) = Sniff(sampleUnit);
            if (units is null)
            {
                return;
            }
            var minUnit = Auto(units, minValue * baseFactor);
            var maxUnit = Auto(units, maxValue * baseFactor);
            var unit = minUnit.Name != maxUnit.Name && minValue * 100 < maxValue ? Auto(units, 100 * minValue * baseFactor) : minUnit;
            (_factor, _unit) = (unit.Factor / baseFactor, unit.Name);
        }

        /// <summary>The unit family and factor of a sample unit, by pprof's aliases (a plural "s" is dropped).</summary>
        private static ((string Name, double Factor)[]? Units, double Factor) Sniff(string sampleUnit)
        {
            var unit = sampleUnit.ToLowerInvariant();
            if (unit.Length > 2 && unit.EndsWith('s'))
            {
                unit = unit[..^1];
            }
            return unit switch
            {
                "ns" or "nanosecond" => (Time, 1),
                "us" or "μs" or "microsecond" => (Time, 1e3),
                "ms" or "millisecond" => (Time, 1e6),
                "s" or "sec" or "second" => (Time, 1e9),
                "hour" or "hr" => (Time, 3600e9),
                "b" or "byte" => (Memory, 1),
                "kb" or "kbyte" or "kilobyte" => (Memory, 1 << 10),
                "mb" or "mbyte" or "megabyte" => (Memory, 1 << 20),
                "gb" or "gbyte" or "gigabyte" => (Memory, 1 << 30),
                _ => (null, 1),
            };
        }

        private static (string Name, double Factor) Auto((string Name, double Factor)[] units, double value)
        {
            var chosen = units[0];
            foreach (var u in units)
            {
                if (Math.Abs(value) / u.Factor >= 1)
                {
                    chosen = u;
                }
            }
            return chosen;
        }

        public string Of(long value)
        {
            var text = (value / _factor).ToString("0.00", CultureInfo.InvariantCulture);
            if (text.EndsWith(".00", StringComparison.Ordinal))
            {
                text = text[..^3];
            }
            return text is "0" or "-0" ? "0" : text + _unit;
        }
    }
}
