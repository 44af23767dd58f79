using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Pyroscope.Testing;

/// <summary>A real Azurite blob emulator (npm, node_modules/.bin/azurite-blob) on a loopback port; killed on dispose.</summary>
public sealed class AzuriteServer : IAsyncDisposable
{
    /// <summary>Azurite's well-known development account key (public, documented by Microsoft; not a secret).</summary>
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly Process _process;
    private readonly string _location;
    private readonly bool _ownsLocation;

    private AzuriteServer(Process process, int port, string location, bool ownsLocation)
    {
        _process = process;
        Port = port;
        _location = location;
        _ownsLocation = ownsLocation;
    }

    public int Port { get; }

    public string ConnectionString => ConnectionStringFor(Port);

    public static string ConnectionStringFor(int port, string accountKey = AccountKey) =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={accountKey};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;";

    /// <summary>Starts Azurite on <paramref name="port"/> (a free one when null) and waits until it accepts connections.</summary>
    public static async Task<AzuriteServer> StartAsync(int? port = null, string? location = null)
    {
        var azurite = RepositoryPaths.NodeModulesBin("azurite-blob");
        if (!File.Exists(azurite))
        {
            throw new FileNotFoundException("azurite-blob not found; run `npm ci` at the repository root.", azurite);
        }
        var ownsLocation = location is null;
        location ??= Directory.CreateTempSubdirectory("azurite-").FullName;
        var chosen = port ?? FreePort.Next();
        var start = new ProcessStartInfo(azurite)
        {
            ArgumentList = { "--blobHost", "127.0.0.1", "--blobPort", chosen.ToString(), "--location", location, "--silent", "--skipApiVersionCheck", "--loose" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("azurite-blob did not start");
        var log = new ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) log.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new AzuriteServer(process, chosen, location, ownsLocation);
        // Node starts slowly on a loaded machine: poll the port for up to two minutes.
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, chosen);
                return server;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(100);
            }
            catch (SocketException e)
            {
                await server.DisposeAsync();
                throw new InvalidOperationException($"azurite-blob on port {chosen} did not come up (exited: {process.HasExited}): {string.Join(" | ", log)}", e);
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
        _process.Dispose();
        if (_ownsLocation)
        {
            try
            {
                Directory.Delete(_location, recursive: true);
            }
            catch (IOException)
            {
            }
        }
        return ValueTask.CompletedTask;
    }
}
