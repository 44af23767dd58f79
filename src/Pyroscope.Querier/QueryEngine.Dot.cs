using Pyroscope.Model;
using Pyroscope.Model.Query;

namespace Pyroscope.Querier;

/// <summary>The merged profile as a Graphviz call graph (format DOT).</summary>
public sealed partial class QueryEngine
{
    /// <summary>
    /// The selected samples as <see cref="DotGraph"/> draws them; <paramref name="maxNodes"/> caps the functions shown
    /// (upstream's default for DOT is 100, not the flame graph's). No samples: an empty answer, as upstream.
    /// </summary>
    private async Task<string> DotAsync(
        string tenant, ProfileTypeId type, IReadOnlyList<LabelMatcher> matchers, long start, long end,
        SampleSelection selection, long? maxNodes, CancellationToken ct)
    {
        var nodes = maxNodes is > 0 ? (int)Math.Min(maxNodes.Value, MaxNodesLimit) : DotGraph.DefaultMaxNodes;
        if (maxNodes < 0)
        {
            MaxNodes(maxNodes);
        }
        var tree = await MergeAsync(tenant, matchers, start, end, selection, ct).ConfigureAwait(false);
        return tree.NodeCount == 0 ? "" : DotGraph.Render(tree, type.SampleType, type.SampleUnit, nodes);
    }
}
