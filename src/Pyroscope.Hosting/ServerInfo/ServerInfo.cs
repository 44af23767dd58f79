using System.Globalization;
using System.Reflection;
using Pyroscope.Api;
using Pyroscope.Contracts.Capabilities.V1;
using Pyroscope.Contracts.Status.V1;
using Pyroscope.Contracts.Version.V1;

namespace Pyroscope.Hosting.ServerInfo;

/// <summary>What a process says about itself: its feature flags, querier API version and build.</summary>
public sealed class ServerInfo(IEnumerable<FeatureFlagRegistration> registered)
{
    /// <summary>The querier API version upstream's version.v1 reports (its currentQuerierVersion).</summary>
    public const ulong QuerierApiVersion = 1;

    private readonly HashSet<string> _enabled = new(registered.Select(r => r.Name), StringComparer.Ordinal);

    public GetFeatureFlagsResponse FeatureFlags()
    {
        var response = new GetFeatureFlagsResponse();
        foreach (var (name, description) in FeatureFlagNames.All)
        {
            response.FeatureFlags.Add(new FeatureFlag { Name = name, Enabled = _enabled.Contains(name), Description = description });
        }
        return response;
    }

    // Every process of a deployment runs the same binary, so the minimum over instances is this one's.
    public static VersionResponse Version() => new() { QuerierAPI = QuerierApiVersion };

    public static GetBuildInfoResponse BuildInfo()
    {
        var assembly = typeof(ServerInfo).Assembly;
        var informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
        // SourceLink appends "+<commit>" to the informational version.
        var plus = informational.IndexOf('+', StringComparison.Ordinal);
        var (version, revision) = plus < 0 ? (informational, "") : (informational[..plus], informational[(plus + 1)..]);
        var buildDate = File.Exists(assembly.Location)
            ? File.GetLastWriteTimeUtc(assembly.Location).ToString("yyyyMMdd-HH:mm:ss", CultureInfo.InvariantCulture)
            : "";
        return new GetBuildInfoResponse
        {
            Status = "success",
            Data = new GetBuildInfoData
            {
                Version = version,
                Revision = revision,
                BuildDate = buildDate,
                GoVersion = ".NET " + Environment.Version,
            },
        };
    }
}
