using System.Globalization;

namespace Pyroscope.AppHost;

/// <summary>
/// The two things every component shares: the ring (Redis, password-protected in both modes) and the object
/// store (Azure Blob; Azurite locally). Components receive both as resource references, never as literal
/// addresses or keys, so the manifest azd reads carries a reference wherever a secret goes.
/// </summary>
internal sealed class SharedInfrastructure
{
    // Azurite's well-known development account (public, documented by Microsoft; not a secret).
    private const string AzuriteAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// <summary>Blob container every component reads and writes; created on first use.</summary>
    public const string BlobContainer = "pyroscope";

    // Local servers components wait for before starting (none when published: the platform runs them).
    private readonly IResourceBuilder<IResource>[] _localServers;

    // Locally without Azurite: the directory every process shares as a filesystem object store.
    private readonly string? _sharedDirectory;

    private SharedInfrastructure(
        IResourceBuilder<IResourceWithConnectionString> ring,
        IResourceBuilder<IResourceWithConnectionString>? blobs,
        IResourceBuilder<IResource>[] localServers,
        string? sharedDirectory = null)
    {
        Ring = ring;
        Blobs = blobs;
        _localServers = localServers;
        _sharedDirectory = sharedDirectory;
    }

    /// <summary>The ring's Redis: its connection string (host:port,password=…) reaches members as <c>ConnectionStrings__redis</c>.</summary>
    public IResourceBuilder<IResourceWithConnectionString> Ring { get; }

    /// <summary>The blob store's connection string; null only locally without Azurite (a shared directory then).</summary>
    public IResourceBuilder<IResourceWithConnectionString>? Blobs { get; }

    /// <summary>
    /// Published: Redis is a container (<c>container.v0</c>) whose password azd generates, and the blob store is a
    /// connection string azd asks for at <c>azd up</c> (a secret <c>parameter.v0</c>). Locally, without a Docker
    /// engine: <c>redis-server</c> with the same generated password and Azurite from <c>npm ci</c>, or a shared
    /// directory when Azurite is not installed.
    /// </summary>
    public static SharedInfrastructure Add(IDistributedApplicationBuilder builder, string repositoryRoot, string runDirectory)
    {
        var password = builder.AddResource(ParameterResourceBuilderExtensions.CreateDefaultPasswordParameter(builder, ResourceNames.RedisPassword, special: false));
        if (builder.ExecutionContext.IsPublishMode)
        {
            var redis = builder.AddRedis(ResourceNames.Redis, password: password);
            return new SharedInfrastructure(redis, builder.AddConnectionString(ResourceNames.Blobs), []);
        }

        Directory.CreateDirectory(runDirectory);
        var redisPort = Port(builder, "redis-port", 6391);
        var redisServer = builder.AddExecutable(ResourceNames.RedisServer, "redis-server", runDirectory,
                "--port", redisPort.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--requirepass", password.Resource)
            .WithEndpoint(port: redisPort, targetPort: redisPort, scheme: "tcp", name: "tcp", isProxied: false);
        var ring = builder.AddConnectionString(ResourceNames.Redis, ReferenceExpression.Create($"127.0.0.1:{redisPort.ToString(CultureInfo.InvariantCulture)},password={password.Resource}"));

        var azurite = Path.Combine(repositoryRoot, "node_modules", ".bin", "azurite-blob");
        if (!File.Exists(azurite))
        {
            return new SharedInfrastructure(ring, null, [redisServer.AsResource()], Path.Combine(runDirectory, "shared"));
        }
        var blobPort = Port(builder, "azurite-port", 10010);
        var location = Path.Combine(runDirectory, "azurite");
        Directory.CreateDirectory(location);
        var blobServer = builder.AddExecutable(ResourceNames.Azurite, azurite, runDirectory,
                "--blobHost", "127.0.0.1", "--blobPort", blobPort.ToString(CultureInfo.InvariantCulture), "--location", location,
                "--silent", "--skipApiVersionCheck", "--loose")
            .WithEndpoint(port: blobPort, targetPort: blobPort, scheme: "http", name: "blob", isProxied: false);
        var blobs = builder.AddConnectionString(ResourceNames.Blobs, ReferenceExpression.Create(
            $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AzuriteAccountKey};BlobEndpoint=http://127.0.0.1:{blobPort.ToString(CultureInfo.InvariantCulture)}/devstoreaccount1;"));
        return new SharedInfrastructure(ring, blobs, [redisServer.AsResource(), blobServer.AsResource()]);
    }

    /// <summary>Makes a component a ring member or reader: the Redis store and its password-carrying connection string.</summary>
    public IResourceBuilder<T> JoinRing<T>(IResourceBuilder<T> component)
        where T : IResourceWithEnvironment, IResourceWithArgs, IResourceWithWaitSupport
    {
        component.WithArgs("-ring.store=redis").WithReference(Ring);
        WaitForLocalServers(component);
        return component;
    }

    /// <summary>Points a component that reads or writes blocks (or tenant settings) at the shared store.</summary>
    public IResourceBuilder<T> UseObjectStore<T>(IResourceBuilder<T> component)
        where T : IResourceWithEnvironment, IResourceWithArgs, IResourceWithWaitSupport
    {
        if (Blobs is null)
        {
            component.WithArgs("-storage.backend=filesystem", $"-storage.filesystem.dir={_sharedDirectory}");
        }
        else
        {
            // The product reads storage.azure.connection_string; in the manifest this is "{blobs.connectionString}".
            component.WithArgs("-storage.backend=azure", $"-storage.azure.container-name={BlobContainer}")
                .WithEnvironment("storage__azure__connection_string", Blobs);
        }
        WaitForLocalServers(component);
        return component;
    }

    private void WaitForLocalServers<T>(IResourceBuilder<T> component)
        where T : IResourceWithWaitSupport
    {
        foreach (var server in _localServers)
        {
            component.WaitFor(server);
        }
    }

    private static int Port(IDistributedApplicationBuilder builder, string key, int fallback) =>
        int.TryParse(builder.Configuration[key], NumberStyles.None, CultureInfo.InvariantCulture, out var port) ? port : fallback;
}

internal static class ResourceBuilderConversions
{
    /// <summary>An executable's builder as a plain resource builder, for <c>WaitFor</c> lists.</summary>
    public static IResourceBuilder<IResource> AsResource<T>(this IResourceBuilder<T> builder)
        where T : IResource =>
        builder.ApplicationBuilder.CreateResourceBuilder<IResource>(builder.Resource);
}
