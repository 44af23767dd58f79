using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
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

/// <summary>A real Azurite blob server on a free port, killed at teardown.</summary>
public sealed class AzuriteFixture : IStoreBackend, IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private Process? _process;
    private int _port;

    public string ConnectionString =>
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
        "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
        $"BlobEndpoint=http://127.0.0.1:{_port}/devstoreaccount1;";

    public IObjectStore NewInstance() => NewInstance("blocks");

    public IObjectStore NewInstance(string container) =>
        new AzureBlobObjectStore(new AzureStorageOptions { ConnectionString = ConnectionString, ContainerName = container, MaxRetries = 1 }, "pyroscope");

    public async ValueTask InitializeAsync()
    {
        var azurite = FindAzurite();
        _port = Pyroscope.Testing.FreePort.Next();
        var start = new ProcessStartInfo(azurite)
        {
            ArgumentList = { "--blobHost", "127.0.0.1", "--blobPort", _port.ToString(), "--location", _dir.Path, "--silent", "--skipApiVersionCheck", "--loose" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        _process = Process.Start(start) ?? throw new InvalidOperationException("azurite-blob did not start");
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        // Node starts slowly on a loaded machine: poll the port for up to two minutes.
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, _port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                await Task.Delay(100);
            }
            catch (SocketException e)
            {
                throw new InvalidOperationException($"azurite-blob on port {_port} did not come up (exited: {_process.HasExited}): {string.Join(" | ", log)}", e);
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
        _process?.Dispose();
        _dir.Dispose();
        return ValueTask.CompletedTask;
    }

    private static string FindAzurite()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "node_modules", ".bin", "azurite-blob");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        const string main = "/work/main/node_modules/.bin/azurite-blob";
        return File.Exists(main) ? main : throw new FileNotFoundException("azurite-blob not found; run `npm ci` at the repository root.");
    }
}

/// <summary>Wraps a store and fails every call while <see cref="Down"/> is set (an outage).</summary>
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
