using System.Globalization;

namespace Pyroscope.AppHost;

/// <summary>How each process joins the shared ring and object store, and receives its ports.</summary>
internal sealed record SharedInfrastructure(
    IResourceBuilder<IResourceWithConnectionString> RingConnection,
    IResourceBuilder<IResource>? RingServer,
    IResourceBuilder<IResource>? BlobServer,
    string[] StorageArgs,
    ReferenceExpression? BlobConnectionString)
{
    /// <summary>Joins a component to the ring (Redis) and, when it reads or writes blocks, the shared store.</summary>
    public IResourceBuilder<ProjectResource> Attach(IResourceBuilder<ProjectResource> project, bool usesObjectStore)
    {
        project.WithArgs("-ring.store=redis").WithReference(RingConnection);
        if (RingServer is not null)
        {
            project.WaitFor(RingServer);
        }
        if (!usesObjectStore)
        {
            return project;
        }
        project.WithArgs(StorageArgs);
        if (BlobConnectionString is not null)
        {
            project.WithEnvironment("storage__azure__connection_string", BlobConnectionString);
        }
        if (BlobServer is not null)
        {
            project.WaitFor(BlobServer);
        }
        return project;
    }
}

internal static class TopologyExtensions
{
    // Azurite's well-known development account (public, documented by Microsoft; not a secret).
    private const string AzuriteAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// <summary>
    /// Gives a Pyroscope process its two ports the way its configuration expects them: Aspire allocates them
    /// and hands them over as <c>server__http_listen_port</c> / <c>server__grpc_listen_port</c>.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithPyroscopeEndpoints(this IResourceBuilder<ProjectResource> project) =>
        project
            .WithHttpEndpoint(name: "http", env: "server__http_listen_port")
            .WithEndpoint(name: "grpc", scheme: "http", env: "server__grpc_listen_port")
            .WithEnvironment("server__http_listen_address", "127.0.0.1")
            .WithEnvironment("server__grpc_listen_address", "127.0.0.1")
            .WithHttpHealthCheck("/ready", endpointName: "http");

    /// <summary>
    /// Locally (no Docker engine) Redis runs as the <c>redis-server</c> executable and blobs in Azurite from
    /// npm, or a shared directory when Azurite is not installed. A published manifest uses a Redis container.
    /// </summary>
    public static SharedInfrastructure AddSharedInfrastructure(this IDistributedApplicationBuilder builder, string repositoryRoot, string runDirectory)
    {
        Directory.CreateDirectory(runDirectory);
        if (builder.ExecutionContext.IsPublishMode)
        {
            var redis = builder.AddRedis(ResourceNames.Redis);
            return new SharedInfrastructure(redis, null, null, ["-storage.backend=azure", "-storage.azure.container-name=pyroscope"], null);
        }

        var redisPort = Port(builder, "redis-port", 6391);
        var redisServer = builder.AddExecutable(ResourceNames.Redis + "-server", "redis-server", runDirectory,
                "--port", redisPort, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
            .WithEndpoint(port: int.Parse(redisPort, CultureInfo.InvariantCulture), targetPort: int.Parse(redisPort, CultureInfo.InvariantCulture), scheme: "tcp", name: "tcp", isProxied: false);
        var ringConnection = builder.AddConnectionString(ResourceNames.Redis, ReferenceExpression.Create($"127.0.0.1:{redisPort}"));

        var azurite = Path.Combine(repositoryRoot, "node_modules", ".bin", "azurite-blob");
        if (!File.Exists(azurite))
        {
            return new SharedInfrastructure(ringConnection, redisServer, null,
                ["-storage.backend=filesystem", $"-storage.filesystem.dir={Path.Combine(runDirectory, "shared")}"], null);
        }
        var blobPort = Port(builder, "azurite-port", 10010);
        var location = Path.Combine(runDirectory, "azurite");
        Directory.CreateDirectory(location);
        var blobServer = builder.AddExecutable(ResourceNames.Blobs, azurite, runDirectory,
                "--blobHost", "127.0.0.1", "--blobPort", blobPort, "--location", location, "--silent", "--skipApiVersionCheck", "--loose")
            .WithEndpoint(port: int.Parse(blobPort, CultureInfo.InvariantCulture), targetPort: int.Parse(blobPort, CultureInfo.InvariantCulture), scheme: "http", name: "blob", isProxied: false);
        var connection = ReferenceExpression.Create(
            $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AzuriteAccountKey};BlobEndpoint=http://127.0.0.1:{blobPort}/devstoreaccount1;");
        return new SharedInfrastructure(ringConnection, redisServer, blobServer,
            ["-storage.backend=azure", "-storage.azure.container-name=pyroscope"], connection);
    }

    private static string Port(IDistributedApplicationBuilder builder, string key, int fallback) =>
        (int.TryParse(builder.Configuration[key], out var port) ? port : fallback).ToString(CultureInfo.InvariantCulture);
}
