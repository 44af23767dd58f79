using System.Diagnostics;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Pyroscope.Testing;

namespace Pyroscope.AppHost.Tests;

/// <summary>
/// The real AppHost started by Aspire.Hosting.Testing without a Docker engine (projects and executables only), each
/// run with its own data directory and ports. Every Pyroscope process gets <paramref name="environment"/> on top of
/// what the AppHost gives it.
/// </summary>
internal sealed class LocalTopology(DistributedApplication app, int azuritePort, string runDirectory) : IAsyncDisposable
{
    public DistributedApplication App { get; } = app;

    /// <summary>Azurite's well-known development account on this run's port.</summary>
    public string BlobConnectionString { get; } =
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
        $"BlobEndpoint=http://127.0.0.1:{azuritePort}/devstoreaccount1;";

    public int RedisPort { get; private init; }

    public static async Task<LocalTopology> StartAsync(string mode, IReadOnlyList<string> settings, IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken)
    {
        var runId = $"test-{Guid.NewGuid().ToString("N")[..8]}";
        var azuritePort = FreePort.Next();
        var redisPort = FreePort.Next();
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Pyroscope_AppHost>(
            [
                $"PYROSCOPE_MODE={mode}",
                $"PYROSCOPE_RUN_ID={runId}",
                $"redis-port={redisPort}",
                $"azurite-port={azuritePort}",
                .. settings,
            ],
            cancellationToken);
        foreach (var project in builder.Resources.OfType<ProjectResource>().ToList())
        {
            var resource = builder.CreateResourceBuilder(project);
            // Without an OTLP collector to talk to, the exporters' retries add seconds to every teardown.
            resource.WithEnvironment("OTEL_SDK_DISABLED", "true");
            foreach (var (key, value) in environment)
            {
                resource.WithEnvironment(key, value);
            }
        }
        var app = await builder.BuildAsync(cancellationToken);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
        return new LocalTopology(app, azuritePort, Path.Combine(RepositoryPaths.Root, ".apphost-data", runId)) { RedisPort = redisPort };
    }

    /// <summary>
    /// A plain client for a component's HTTP endpoint (through Aspire's proxy when it has replicas). Not the testing
    /// builder's client: its resilience handler gives up on a request after 10 s on a loaded machine and retries it,
    /// and a retried push would be ingested twice. The test's own deadline bounds every call.
    /// </summary>
    public HttpClient Http(string resourceName) =>
        new() { BaseAddress = App.GetEndpoint(resourceName, "http"), Timeout = System.Threading.Timeout.InfiniteTimeSpan };

    /// <summary>Kills a component's process and its children at once (SIGKILL): no shutdown, no flush, no ring exit.</summary>
    public async Task KillAsync(string resourceName, CancellationToken cancellationToken)
    {
        var running = await App.ResourceNotifications.WaitForResourceAsync(resourceName, e => ProcessId(e) is not null, cancellationToken);
        using var process = Process.GetProcessById(ProcessId(running)!.Value);
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync(cancellationToken);
        // The orchestrator sees it too (and, like a crashed pod waiting for its restart, does not bring it back).
        await App.ResourceNotifications.WaitForResourceAsync(resourceName, KnownResourceStates.TerminalStates, cancellationToken);
    }

    /// <summary>What Redis answers a client that has not authenticated.</summary>
    public async Task<string> AskRedisUnauthenticatedAsync(CancellationToken cancellationToken)
    {
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(System.Net.IPAddress.Loopback, RedisPort, cancellationToken);
        var stream = client.GetStream();
        await stream.WriteAsync("PING\r\n"u8.ToArray(), cancellationToken);
        var buffer = new byte[256];
        var read = await stream.ReadAsync(buffer, cancellationToken);
        return System.Text.Encoding.ASCII.GetString(buffer, 0, read);
    }

    private static int? ProcessId(ResourceEvent resource) =>
        resource.Snapshot.Properties.FirstOrDefault(p => p.Name == "executable.pid")?.Value is { } pid
            ? Convert.ToInt32(pid, System.Globalization.CultureInfo.InvariantCulture)
            : null;

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        // The run's WALs, blocks and Azurite files (the AppHost keeps them between ordinary local runs).
        if (Directory.Exists(runDirectory))
        {
            Directory.Delete(runDirectory, recursive: true);
        }
    }
}
