using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Pyroscope.AppHost;

/// <summary>
/// How many of each component run, locally and when published: the <c>Topology</c> section of the AppHost's
/// configuration (<c>appsettings.json</c>; any key can be overridden with <c>--Topology:Ingesters=5</c> or
/// <c>Topology__Ingesters=5</c>). The numbers have no defaults in code, so that file is the one place they are set.
/// </summary>
internal sealed record TopologyOptions(int Ingesters, int ReplicationFactor, int DistributorReplicas, int QuerierReplicas)
{
    public const string Section = "Topology";

    public static TopologyOptions From(IConfiguration configuration)
    {
        var section = configuration.GetSection(Section);
        var options = new TopologyOptions(
            Count(section, nameof(Ingesters)),
            Count(section, nameof(ReplicationFactor)),
            Count(section, nameof(DistributorReplicas)),
            Count(section, nameof(QuerierReplicas)));
        if (options.ReplicationFactor > options.Ingesters)
        {
            // Every write would miss its quorum: refuse at start rather than deploy a cluster that drops pushes.
            throw new InvalidOperationException(
                $"{Section}:ReplicationFactor ({options.ReplicationFactor}) is larger than {Section}:Ingesters ({options.Ingesters}).");
        }
        return options;
    }

    private static int Count(IConfigurationSection section, string key)
    {
        var raw = section[key];
        if (string.IsNullOrWhiteSpace(raw))
        {
            throw new InvalidOperationException($"{Section}:{key} is not set: it belongs in src/Pyroscope.AppHost/appsettings.json.");
        }
        if (!int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < 1)
        {
            throw new InvalidOperationException($"{Section}:{key} must be a whole number of at least 1, not '{raw}'.");
        }
        return value;
    }
}
