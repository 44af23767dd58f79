using System.Text.Json;
using Pyroscope.Model;
using Pyroscope.Model.Query;
using Pyroscope.Testing;

namespace Pyroscope.Model.Tests;

public class FlameGraphTests
{
    private static StackTree Tree(params (string Stack, long Value)[] stacks)
    {
        var t = new StackTree();
        foreach (var (s, v) in stacks)
        {
            t.Add(v, s.Split(';'));
        }
        return t;
    }

    [Fact]
    public void Matches_the_protocol_example()
    {
        var graph = FlameGraphData.From(Tree(("foo;bar", 100), ("foo;baz", 200)), 8192);

        Assert.Equal(["total", "foo", "baz", "bar"], graph.Names);
        Assert.Equal(3, graph.Levels.Length);
        Assert.Equal([0, 300, 0, 0], graph.Levels[0]);
        Assert.Equal([0, 300, 0, 1], graph.Levels[1]);
        Assert.Equal([0, 100, 100, 3, 0, 200, 200, 2], graph.Levels[2]);
        Assert.Equal(300, graph.Total);
        Assert.Equal(200, graph.MaxSelf);
    }

    [Fact]
    public void Flamebearer_json_has_the_upstream_shape()
    {
        var graph = FlameGraphData.From(Tree(("foo;bar", 100), ("foo;baz", 200)), 8192);
        var type = new ProfileTypeId("process_cpu", "cpu", "nanoseconds", "cpu", "nanoseconds");
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            FlamebearerJson.Write(w, graph, type, new Timeline(1700000000, 15, [1, 0, 2]));
        }
        using var doc = JsonDocument.Parse(buffer.WrittenMemory);
        var root = doc.RootElement;
        Assert.Equal(1, root.GetProperty("version").GetInt32());
        var fb = root.GetProperty("flamebearer");
        Assert.Equal("[\"total\",\"foo\",\"baz\",\"bar\"]", fb.GetProperty("names").GetRawText());
        Assert.Equal("[[0,300,0,0],[0,300,0,1],[0,100,100,3,0,200,200,2]]", fb.GetProperty("levels").GetRawText());
        Assert.Equal(300, fb.GetProperty("numTicks").GetInt64());
        Assert.Equal(200, fb.GetProperty("maxSelf").GetInt64());
        var meta = root.GetProperty("metadata");
        Assert.Equal("single", meta.GetProperty("format").GetString());
        Assert.Equal("samples", meta.GetProperty("units").GetString());
        Assert.Equal("cpu", meta.GetProperty("name").GetString());
        Assert.Equal(100, meta.GetProperty("sampleRate").GetInt32());
        var tl = root.GetProperty("timeline");
        Assert.Equal(1700000000, tl.GetProperty("startTime").GetInt64());
        Assert.Equal(15, tl.GetProperty("durationDelta").GetInt64());
        Assert.Equal("[1,0,2]", tl.GetProperty("samples").GetRawText());
    }

    [Fact]
    public void Max_nodes_folds_small_siblings_into_other()
    {
        // Node totals: a 100, a;x 60, b 50, c 10, d 5 → with 2 nodes the bar is the 2nd largest, 60.
        var tree = Tree(("a", 40), ("a;x", 60), ("b", 50), ("c", 10), ("d", 5));
        var graph = FlameGraphData.From(tree, 2);

        Assert.Equal(165, graph.Total);
        var level1 = Decode(graph.Levels[1], 4);
        // Left to right: a, then other (b+c+d) — "other" is appended after the kept children.
        Assert.Equal(2, level1.Count);
        Assert.Equal(("a", 100L, 40L), (graph.Names[(int)level1[0].Name], level1[0].Total, level1[0].Self));
        Assert.Equal(("other", 65L, 65L), (graph.Names[(int)level1[1].Name], level1[1].Total, level1[1].Self));
        Assert.Equal(100, level1[1].X); // other starts where a ends
        var level2 = Decode(graph.Levels[2], 4);
        Assert.Equal(("x", 60L), (graph.Names[(int)level2[0].Name], level2[0].Total));
        Assert.Equal(40, level2[0].X); // after a's self
    }

    [Fact]
    public void Truncation_on_a_real_profile_keeps_totals_and_respects_the_threshold()
    {
        var p = PprofFixtures.LoadPprof("go/go-cpu.pb.gz");
        var stacks = PprofFixtures.Stacks(p, 1);
        var tree = new StackTree();
        foreach (var (s, v) in stacks)
        {
            tree.Add(v, s);
        }
        // Independent threshold: all node totals by path, 32nd largest.
        var totals = new Dictionary<string, long>();
        foreach (var (s, v) in stacks)
        {
            if (v <= 0) continue;
            for (var i = 1; i <= s.Length; i++)
            {
                var key = string.Join(';', s.Take(i));
                totals[key] = totals.GetValueOrDefault(key) + v;
            }
        }
        const int maxNodes = 32;
        var threshold = totals.Values.OrderDescending().ElementAt(maxNodes - 1);
        Assert.Equal(threshold, tree.MinValue(maxNodes));

        var graph = FlameGraphData.From(tree, maxNodes);
        Assert.Equal(stacks.Sum(s => s.Value), graph.Total);
        var nonOther = 0;
        for (var d = 1; d < graph.Levels.Length; d++)
        {
            foreach (var n in Decode(graph.Levels[d], 4))
            {
                if (graph.Names[(int)n.Name] != "other")
                {
                    Assert.True(n.Total >= threshold);
                    nonOther++;
                }
            }
        }
        Assert.True(nonOther <= maxNodes + 1, $"{nonOther} nodes kept");
        // Row 1 accounts for everything.
        Assert.Equal(graph.Total, Decode(graph.Levels[1], 4).Sum(n => n.Total));
    }

    [Fact]
    public void Diff_aligns_both_trees()
    {
        var left = Tree(("foo;bar", 100));
        var right = Tree(("foo;baz", 200));
        var diff = FlameGraphDiffData.From(left, right, 8192);

        Assert.Equal(100, diff.LeftTicks);
        Assert.Equal(200, diff.RightTicks);
        Assert.Equal(300, diff.Total);
        Assert.Equal(["total", "foo", "baz", "bar"], diff.Names);
        Assert.Equal([0, 100, 0, 0, 200, 0, 0], diff.Levels[0]);
        Assert.Equal([0, 100, 0, 0, 200, 0, 1], diff.Levels[1]);
        // bar: left 100, right 0; baz: left 0 (x after bar's 100 → delta 0), right 200.
        Assert.Equal([0, 100, 100, 0, 0, 0, 3, 0, 0, 0, 0, 200, 200, 2], diff.Levels[2]);
        Assert.Equal(200, diff.MaxSelf);
    }

    [Fact]
    public void Merge_of_trees_equals_one_tree_of_all_stacks()
    {
        var p = PprofFixtures.LoadPprof("go/go-cpu.pb.gz");
        var stacks = PprofFixtures.Stacks(p, 1);
        var all = new StackTree();
        var a = new StackTree();
        var b = new StackTree();
        for (var i = 0; i < stacks.Count; i++)
        {
            all.Add(stacks[i].Value, stacks[i].Stack);
            (i % 2 == 0 ? a : b).Add(stacks[i].Value, stacks[i].Stack);
        }
        a.Merge(b);
        Assert.Equal(StackExports.ToCollapsed(all), StackExports.ToCollapsed(a));
        Assert.Equal(PprofFixtures.Folded(stacks).OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Key} {k.Value}"),
            StackExports.ToCollapsed(a).TrimEnd('\n').Split('\n').Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Tree_bytes_round_trip_and_truncate()
    {
        var tree = Tree(("a", 40), ("a;x", 60), ("b", 50), ("c", 10), ("d", 5));
        var full = TreeExports.FromTreeBytes(TreeExports.ToTreeBytes(tree, 0));
        Assert.Equal(StackExports.ToCollapsed(tree), StackExports.ToCollapsed(full));

        var cut = TreeExports.FromTreeBytes(TreeExports.ToTreeBytes(tree, 2));
        Assert.Equal(165, cut.Total);
        Assert.Equal("a 40\na;x 60\nother 65\n", StackExports.ToCollapsed(cut));
    }

    internal static List<(long X, long Total, long Self, long Name)> Decode(long[] level, int width)
    {
        var result = new List<(long, long, long, long)>();
        long x = 0;
        for (var i = 0; i < level.Length; i += width)
        {
            x += level[i];
            result.Add((x, level[i + 1], level[i + 2], level[i + width - 1]));
            x += level[i + 1];
        }
        return result;
    }
}
