using System.Globalization;

namespace Pyroscope.AppHost;

/// <summary>
/// The microservices topology: N ingesters (each its own ring identity and data volume), distributors and
/// queriers scaled by replica counts, one compactor. The same resources run locally and are published; only
/// what cannot be the same differs (ports, listen addresses, where an ingester's data lives).
/// </summary>
internal static class PyroscopeComponents
{
    /// <summary>Ports inside a published container: the product's defaults.</summary>
    public const int PublishedHttpPort = 4040;
    public const int PublishedGrpcPort = 9095;

    /// <summary>Where a published ingester's volume is mounted: its WAL, head and blocks not yet uploaded.</summary>
    public const string PublishedDataPath = "/data";

    public static void AddMicroservices(this IDistributedApplicationBuilder builder, TopologyOptions topology, SharedInfrastructure shared, string runDirectory)
    {
        var replication = $"-distributor.replication-factor={topology.ReplicationFactor.ToString(CultureInfo.InvariantCulture)}";
        for (var i = 0; i < topology.Ingesters; i++)
        {
            builder.AddIngester(i, shared, runDirectory, replication);
        }

        var querier = builder.AddProject<Projects.Pyroscope_Querier>(ResourceNames.Querier, launchProfileName: null)
            .WithPyroscopeEndpoints()
            // Grafana reads through the querier, and its Profiles Drilldown app asks the same address for settings.v1.
            .WithArgs("-target=querier,tenant-settings", replication)
            .WithReplicas(topology.QuerierReplicas);
        shared.UseObjectStore(shared.JoinRing(querier));

        var distributor = builder.AddProject<Projects.Pyroscope_Distributor>(ResourceNames.Distributor, launchProfileName: null)
            .WithPyroscopeEndpoints()
            .WithArgs("-target=distributor", replication)
            // Recording rules are evaluated as profiles arrive; the rules live with tenant-settings, in the querier.
            .WithEnvironment("tenant_settings__recording_rules__client_address", querier.GetEndpoint("http"))
            .WithReplicas(topology.DistributorReplicas);
        shared.JoinRing(distributor);

        // One compactor: it owns every tenant's block merging, de-duplication and retention (no sharding).
        var compactor = builder.AddProject<Projects.Pyroscope_All>(ResourceNames.Compactor, launchProfileName: null)
            .WithPyroscopeEndpoints()
            .WithArgs("-target=compactor");
        shared.UseObjectStore(compactor);
    }

    /// <summary>
    /// Ingester <paramref name="index"/>: ring id <c>ingester-N</c> in both modes, so a restarted ingester takes its
    /// own place (and tokens) in the ring again and replays its own WAL. Locally a project with its own directory;
    /// published a container built from <c>ingester.Dockerfile</c>, because in the manifest azd reads only a
    /// container can carry a volume, and the WAL must outlive the container.
    /// </summary>
    private static void AddIngester(this IDistributedApplicationBuilder builder, int index, SharedInfrastructure shared, string runDirectory, string replication)
    {
        var name = ResourceNames.Ingester(index);
        string[] args = ["-target=ingester", $"-ring.instance-id={name}", replication];
        if (builder.ExecutionContext.IsPublishMode)
        {
            var repositoryRoot = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, "..", ".."));
            var container = builder.AddDockerfile(name, repositoryRoot, "src/Pyroscope.AppHost/ingester.Dockerfile")
                .WithPyroscopeEndpoints()
                .WithArgs(args)
                // Other components reach it at its container app's name; the ring advertises that, not the pod's address.
                .WithArgs($"-ring.instance-addr={name}", $"-pyroscopedb.data-path={PublishedDataPath}")
                .WithVolume(name + "-data", PublishedDataPath);
            shared.UseObjectStore(shared.JoinRing(container));
            return;
        }

        var project = builder.AddProject<Projects.Pyroscope_Ingester>(name, launchProfileName: null)
            .WithPyroscopeEndpoints()
            .WithArgs(args)
            .WithArgs($"-pyroscopedb.data-path={Path.Combine(runDirectory, name)}");
        shared.UseObjectStore(shared.JoinRing(project));
    }

    /// <summary>
    /// Gives a Pyroscope process its two ports the way its configuration expects them
    /// (<c>server__http_listen_port</c> / <c>server__grpc_listen_port</c>) and a readiness check on <c>/ready</c>.
    /// Locally Aspire allocates the ports and the process listens on loopback only; a published container listens on
    /// all interfaces at the product's default ports.
    /// </summary>
    public static IResourceBuilder<T> WithPyroscopeEndpoints<T>(this IResourceBuilder<T> component)
        where T : IResourceWithEndpoints, IResourceWithEnvironment
    {
        if (component.ApplicationBuilder.ExecutionContext.IsPublishMode)
        {
            return component
                .WithHttpEndpoint(name: "http", targetPort: PublishedHttpPort, env: "server__http_listen_port")
                .WithEndpoint(name: "grpc", scheme: "http", targetPort: PublishedGrpcPort, env: "server__grpc_listen_port")
                .WithHttpHealthCheck("/ready", endpointName: "http");
        }
        return component
            .WithHttpEndpoint(name: "http", env: "server__http_listen_port")
            .WithEndpoint(name: "grpc", scheme: "http", env: "server__grpc_listen_port")
            .WithEnvironment("server__http_listen_address", "127.0.0.1")
            .WithEnvironment("server__grpc_listen_address", "127.0.0.1")
            .WithHttpHealthCheck("/ready", endpointName: "http");
    }
}
