using Azure;
using Azure.Core;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace Pyroscope.Storage.ObjectStore;

/// <summary>Objects as block blobs in one Azure Storage container, under an optional prefix.</summary>
public sealed class AzureBlobObjectStore : IObjectStore
{
    private readonly BlobContainerClient _container;
    private readonly string _prefix;
    private int _containerChecked;

    public AzureBlobObjectStore(AzureStorageOptions options, string? prefix)
    {
        if (string.IsNullOrEmpty(options.ContainerName))
        {
            throw new ArgumentException("storage.azure.container_name is required for the azure backend.");
        }
        var clientOptions = new BlobClientOptions();
        clientOptions.Retry.MaxRetries = options.MaxRetries;
        clientOptions.Retry.Mode = RetryMode.Exponential;
        if (!string.IsNullOrEmpty(options.ConnectionString))
        {
            _container = new BlobContainerClient(options.ConnectionString, options.ContainerName, clientOptions);
        }
        else
        {
            if (string.IsNullOrEmpty(options.AccountName) || string.IsNullOrEmpty(options.AccountKey))
            {
                throw new ArgumentException("storage.azure needs connection_string, or account_name and account_key.");
            }
            var uri = new Uri($"https://{options.AccountName}.blob.{options.EndpointSuffix}/{options.ContainerName}");
            _container = new BlobContainerClient(uri, new StorageSharedKeyCredential(options.AccountName, options.AccountKey), clientOptions);
        }
        _prefix = string.IsNullOrEmpty(prefix) ? "" : prefix.Trim('/') + "/";
    }

    public string Description => $"azure container '{_container.Name}' at {_container.Uri.GetLeftPart(UriPartial.Authority)}";

    public async Task CheckAccessAsync(CancellationToken cancellationToken)
    {
        await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        Volatile.Write(ref _containerChecked, 1);
        await foreach (var _ in _container.GetBlobsAsync(new GetBlobsOptions { Prefix = _prefix }, cancellationToken).AsPages(pageSizeHint: 1))
        {
            break;
        }
    }

    public async Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        await EnsureContainerAsync(cancellationToken);
        // A single-shot block blob upload commits atomically.
        await _container.GetBlobClient(_prefix + key).UploadAsync(BinaryData.FromBytes(data), overwrite: true, cancellationToken);
    }

    public async Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var result = await _container.GetBlobClient(_prefix + key).DownloadContentAsync(cancellationToken);
            return result.Value.Content.ToArray();
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    public async Task<byte[]> GetRangeAsync(string key, long offset, int length, CancellationToken cancellationToken)
    {
        var options = new BlobDownloadOptions { Range = new HttpRange(offset, length) };
        var result = await _container.GetBlobClient(_prefix + key).DownloadContentAsync(options, cancellationToken);
        var bytes = result.Value.Content.ToArray();
        if (bytes.Length != length)
        {
            throw new InvalidDataException($"Object '{key}' returned {bytes.Length} bytes for a range of {length}.");
        }
        return bytes;
    }

    public async Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancellationToken)
    {
        var full = _prefix + prefix;
        var result = new List<string>();
        try
        {
            await foreach (var item in _container.GetBlobsByHierarchyAsync(new GetBlobsByHierarchyOptions { Delimiter = "/", Prefix = full }, cancellationToken))
            {
                result.Add(item.IsPrefix ? item.Prefix[full.Length..] : item.Blob.Name[full.Length..]);
            }
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            // Container not created yet: nothing stored.
        }
        result.Sort(StringComparer.Ordinal);
        return result;
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            await _container.GetBlobClient(_prefix + key).DeleteIfExistsAsync(cancellationToken: cancellationToken);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
        }
    }

    private async Task EnsureContainerAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _containerChecked) == 1)
        {
            return;
        }
        await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        Volatile.Write(ref _containerChecked, 1);
    }
}
