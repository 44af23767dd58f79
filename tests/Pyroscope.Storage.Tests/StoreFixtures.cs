using Pyroscope.Testing;
using Pyroscope.Storage.ObjectStore;

namespace Pyroscope.Storage.Tests;

/// <summary>Creates independent store instances over one shared backend (what one process wrote, another reads).</summary>
public interface IStoreBackend
{
    IObjectStore NewInstance();
}

public sealed class FileSystemBackend : IStoreBackend, IDisposable
{
    private readonly TempDir _dir = new();
    private readonly string _prefix = "prefix-" + Guid.NewGuid().ToString("N")[..6];

    public IObjectStore NewInstance() => new FileSystemObjectStore(_dir.Path, _prefix);

    public void Dispose() => _dir.Dispose();
}

/// <summary>One real Azurite per test class (xunit class fixture, killed at teardown), stores per container.</summary>
public sealed class AzuriteFixture : IStoreBackend, IAsyncLifetime
{
    private AzuriteServer? _server;

    public string ConnectionString => _server!.ConnectionString;

    public IObjectStore NewInstance() => NewInstance("blocks");

    public IObjectStore NewInstance(string container) =>
        new AzureBlobObjectStore(new AzureStorageOptions { ConnectionString = ConnectionString, ContainerName = container, MaxRetries = 1 }, "pyroscope");

    public async ValueTask InitializeAsync() => _server = await AzuriteServer.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}

/// <summary>A container of its own in the class's Azurite, so one test does not see another's blocks.</summary>
public sealed class AzuriteContainerPerTest(AzuriteFixture azurite) : IStoreBackend
{
    private readonly string _container = "c" + Guid.NewGuid().ToString("N")[..12];

    public IObjectStore NewInstance() => azurite.NewInstance(_container);
}

public sealed class FlakyStore(IObjectStore inner) : IObjectStore
{
    public bool Down { get; set; }

    public int Failures { get; private set; }

    private void Check()
    {
        if (Down)
        {
            Failures++;
            throw new IOException("object store is down (test)");
        }
    }

    public Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken) { Check(); return inner.PutAsync(key, data, cancellationToken); }
    public Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken) { Check(); return inner.GetAsync(key, cancellationToken); }
    public Task<byte[]> GetRangeAsync(string key, long offset, int length, CancellationToken cancellationToken) { Check(); return inner.GetRangeAsync(key, offset, length, cancellationToken); }
    public Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancellationToken) { Check(); return inner.ListAsync(prefix, cancellationToken); }
    public Task DeleteAsync(string key, CancellationToken cancellationToken) { Check(); return inner.DeleteAsync(key, cancellationToken); }
}
