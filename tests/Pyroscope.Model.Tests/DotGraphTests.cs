using System.Diagnostics;
using System.Text.RegularExpressions;
using Pyroscope.Model.Query;
using Pyroscope.Testing;

namespace Pyroscope.Model.Tests;

/// <summary>The DOT rendering against Go's own <c>go tool pprof -dot</c> on the same real profile.</summary>
public partial class DotGraphTests
{
    [Fact]
    public async Task Nodes_and_call_arrows_match_go_tool_pprof_dot()
    {
        var input = PprofFixtures.LoadPprof("go/go-cpu.pb.gz");
        var tree = new StackTree();
        foreach (var (stack, value) in PprofFixtures.Stacks(input, 1))
        {
            tree.Add(value, stack);
        }
        var ours = DotGraph.Render(tree, "cpu", "nanoseconds");
        var theirs = await GoPprofDotAsync(RepositoryPaths.Fixture("go/go-cpu.pb.gz"));

        var (ourNodes, ourEdges) = Parse(ours);
        var (goNodes, goEdges) = Parse(theirs);
        Assert.True(goNodes.Count > 20, theirs);
        // Same functions, each with the same flat and cumulative value, formatted in the same unit.
        Assert.Equal(goNodes.OrderBy(n => n.Key), ourNodes.OrderBy(n => n.Key));
        // Same direct calls with the same values (pprof may leave out dotted ones reachable another way).
        Assert.Equal(goEdges.Where(e => !e.Value.Residual).OrderBy(e => e.Key), ourEdges.Where(e => !e.Value.Residual).OrderBy(e => e.Key));
        Assert.StartsWith("digraph ", ours);
        Assert.Contains("Type: cpu", ours);
        Assert.EndsWith("}\n", ours);
    }

    [Fact]
    public void Max_nodes_keeps_the_heaviest_functions_and_dotted_arrows_bridge_the_dropped_ones()
    {
        var tree = new StackTree();
        tree.Add(60, "main", "middle", "leafA");
        tree.Add(30, "main", "middle", "leafB");
        tree.Add(10, "main", "other.side");
        var (nodes, edges) = Parse(DotGraph.Render(tree, "samples", "count", maxNodes: 2));
        Assert.Equal(["main", "middle"], nodes.Keys.Order());
        Assert.Equal("100", nodes["main"].Cum);
        Assert.Equal(("90", false), (edges[("main", "middle")].Weight, edges[("main", "middle")].Residual));

        // Without "middle", leafA hangs off main through a dotted arrow.
        var (_, bridged) = Parse(DotGraph.Render(Tree(("main;middle;leafA", 60), ("main;leafA", 5), ("main;x", 35)), "samples", "count", maxNodes: 2));
        Assert.True(bridged[("main", "leafA")].Residual);
        Assert.Equal("65", bridged[("main", "leafA")].Weight);
    }

    [Fact]
    public void Recursion_counts_each_sample_once_per_function_and_per_arrow()
    {
        var (nodes, edges) = Parse(DotGraph.Render(Tree(("a;b;a;b", 10), ("a;b", 5)), "samples", "count"));
        Assert.Equal(("15", "15"), (nodes["b"].Flat, nodes["b"].Cum));
        Assert.Equal(("0", "15"), (nodes["a"].Flat, nodes["a"].Cum));
        Assert.Equal("15", edges[("a", "b")].Weight);
        Assert.Equal("10", edges[("b", "a")].Weight);
    }

    private static StackTree Tree(params (string Folded, long Value)[] stacks)
    {
        var tree = new StackTree();
        foreach (var (folded, value) in stacks)
        {
            tree.Add(value, folded.Split(';'));
        }
        return tree;
    }

    private sealed record NodeValues(string Flat, string Cum);

    /// <summary>Nodes by full name (their tooltip) with flat and cumulative text; arrows by (caller, callee).</summary>
    private static (Dictionary<string, NodeValues> Nodes, Dictionary<(string, string), (string Weight, bool Residual)> Edges) Parse(string dot)
    {
        var names = new Dictionary<string, string>();
        var nodes = new Dictionary<string, NodeValues>();
        foreach (Match m in NodeLine().Matches(dot))
        {
            var label = m.Groups["label"].Value;
            var name = m.Groups["name"].Value;
            names[m.Groups["id"].Value] = name;
            var values = ValuesInLabel().Match(label);
            Assert.True(values.Success, label);
            var flat = values.Groups["flat"].Value;
            nodes[name] = new NodeValues(flat, values.Groups["cum"].Success ? values.Groups["cum"].Value : flat);
        }
        var edges = new Dictionary<(string, string), (string, bool)>();
        foreach (Match m in EdgeLine().Matches(dot))
        {
            edges[(names[m.Groups["from"].Value], names[m.Groups["to"].Value])] = (m.Groups["weight"].Value, m.Groups["attrs"].Value.Contains("style=\"dotted\""));
        }
        return (nodes, edges);
    }

    [GeneratedRegex("""^(?<id>N\d+) \[label="(?<label>[^"]*)" id="node\d+" fontsize=\d+ shape=box tooltip="(?<name>.*) \([^)]*\)" color""", RegexOptions.Multiline)]
    private static partial Regex NodeLine();

    [GeneratedRegex("""(?:\\n|^)(?<flat>[^\\ ]+)(?: \([^)]*\))?(?:(?:\\n| )of (?<cum>[^ ]+) \([^)]*\))?$""")]
    private static partial Regex ValuesInLabel();

    [GeneratedRegex("""^(?<from>N\d+) -> (?<to>N\d+) \[label=" (?<weight>[^"\\ ]+)(?:\\n \(inline\))?"(?<attrs>[^\n]*)\]$""", RegexOptions.Multiline)]
    private static partial Regex EdgeLine();

    private static async Task<string> GoPprofDotAsync(string file)
    {
        var go = new[] { "/usr/bin/go", "/usr/local/go/bin/go" }.FirstOrDefault(File.Exists);
        Assert.True(go is not null, "go is not installed: apt-get install -y golang-go (.ci/run does)");
        var psi = new ProcessStartInfo(go!, ["tool", "pprof", "-dot", "-nodecount=100", "-sample_index=1", file])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["HOME"] = Path.GetTempPath(), ["GOCACHE"] = Path.Combine(Path.GetTempPath(), "go-cache") },
        };
        using var process = Process.Start(psi)!;
        var ct = TestContext.Current.CancellationToken;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        Assert.True(process.ExitCode == 0, await stderr);
        return await stdout;
    }
}
