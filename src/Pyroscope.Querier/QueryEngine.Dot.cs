using Pyroscope.Api;
using Pyroscope.Model;

namespace Pyroscope.Querier;

/// <summary>The merged profile as a Graphviz call graph (format DOT).</summary>
public sealed partial class QueryEngine
{
    private Task<string> DotAsync(
        string tenant, ProfileTypeId type, IReadOnlyList<LabelMatcher> matchers, long start, long end,
        SampleSelection selection, long? maxNodes, CancellationToken ct) =>
        throw new ApiException(ConnectCode.Unimplemented, "format PROFILE_FORMAT_DOT is not implemented yet");
}
