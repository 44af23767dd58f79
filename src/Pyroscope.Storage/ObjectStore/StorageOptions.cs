using Microsoft.Extensions.Configuration;

namespace Pyroscope.Storage.ObjectStore;

/// <summary>The <c>storage</c> config section, spelled as upstream: <c>{backend, prefix, filesystem: {dir}, azure: {...}}</c>.</summary>
public sealed class StorageOptions
{
    public string Backend { get; set; } = "filesystem";

    public string Prefix { get; set; } = "";

    public string FilesystemDir { get; set; } = "./data-shared";

    public AzureStorageOptions Azure { get; set; } = new();

    public static StorageOptions From(IConfiguration configuration)
    {
        var section = configuration.GetSection("storage");
        var options = new StorageOptions();
        options.Backend = section["backend"] is { Length: > 0 } b ? b : options.Backend;
        options.Prefix = section["prefix"] ?? options.Prefix;
        options.FilesystemDir = section.GetSection("filesystem")["dir"] is { Length: > 0 } d ? d : options.FilesystemDir;
        var azure = section.GetSection("azure");
        var azureDefaults = options.Azure;
        options.Azure = new AzureStorageOptions
        {
            AccountName = azure["account_name"],
            AccountKey = azure["account_key"],
            ConnectionString = azure["connection_string"],
            ContainerName = azure["container_name"],
            EndpointSuffix = azure["endpoint_suffix"] is { Length: > 0 } s ? s : azureDefaults.EndpointSuffix,
            MaxRetries = int.TryParse(azure["max_retries"], out var r) ? r : azureDefaults.MaxRetries,
        };
        return options;
    }

    /// <summary>The configured store; its failures name it (<see cref="NamedFailuresObjectStore"/>).</summary>
    public IObjectStore CreateStore() => new NamedFailuresObjectStore(Backend.ToLowerInvariant() switch
    {
        "filesystem" or "" => new FileSystemObjectStore(FilesystemDir, Prefix),
        "azure" => new AzureBlobObjectStore(Azure, Prefix),
        _ => throw new ArgumentException($"storage.backend '{Backend}' is not supported (use filesystem or azure)."),
    });
}

public sealed class AzureStorageOptions
{
    public string? AccountName { get; set; }
    public string? AccountKey { get; set; }
    public string? ConnectionString { get; set; }
    public string? ContainerName { get; set; }
    public string EndpointSuffix { get; set; } = "core.windows.net";
    public int MaxRetries { get; set; } = 3;
}
