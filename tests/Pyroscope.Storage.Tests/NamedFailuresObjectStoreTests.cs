using System.Net;
using System.Net.Sockets;
using Pyroscope.Model;
using Pyroscope.Storage.ObjectStore;
using Pyroscope.Testing;

namespace Pyroscope.Storage.Tests;

/// <summary>The configured object store names itself, the operation and the cause in every failure (503 upstream of it).</summary>
public sealed class NamedFailuresObjectStoreTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_unreachable_azure_store_fails_with_its_name_and_the_connection_error()
    {
        var port = ClosedPort();
        var options = new StorageOptions
        {
            Backend = "azure",
            Azure = new AzureStorageOptions { ConnectionString = AzuriteServer.ConnectionStringFor(port), ContainerName = "blocks", MaxRetries = 0 },
        };
        var store = options.CreateStore();

        var error = await Assert.ThrowsAsync<ObjectStoreUnavailableException>(() => store.ListAsync("tenant-a/", Ct));
        Assert.IsAssignableFrom<UnavailableException>(error);
        Assert.StartsWith($"object store azure container 'blocks' at http://127.0.0.1:{port} failed listing tenant-a/: ", error.Message);
        Assert.Contains("refused", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain('\n', error.Message);

        await Assert.ThrowsAsync<ObjectStoreUnavailableException>(() => store.GetAsync("tenant-a/x/meta.json", Ct));
    }

    [Fact]
    public async Task A_filesystem_store_names_its_directory_and_missing_objects_are_not_failures()
    {
        using var dir = new TempDir();
        var store = new StorageOptions { Backend = "filesystem", FilesystemDir = dir.Path }.CreateStore();
        await store.PutAsync("tenant-a/block/data", new byte[] { 1, 2, 3 }, Ct);

        Assert.Null(await store.GetAsync("tenant-a/block/absent", Ct));
        Assert.Equal(new byte[] { 2, 3 }, await store.GetRangeAsync("tenant-a/block/data", 1, 2, Ct));
        // A block deleted between the listing and the read (compaction) is a failure of the read, named.
        var error = await Assert.ThrowsAsync<ObjectStoreUnavailableException>(() => store.GetRangeAsync("tenant-a/gone/data", 0, 1, Ct));
        Assert.StartsWith($"object store filesystem directory {Path.GetFullPath(dir.Path)} failed reading tenant-a/gone/data: ", error.Message);
    }

    [Fact]
    public async Task The_callers_cancellation_stays_a_cancellation()
    {
        using var dir = new TempDir();
        var store = new StorageOptions { Backend = "filesystem", FilesystemDir = dir.Path }.CreateStore();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.PutAsync("tenant-a/x", new byte[] { 1 }, cancelled.Token));
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
