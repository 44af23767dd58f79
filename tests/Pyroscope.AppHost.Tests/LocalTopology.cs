using System.Collections.Concurrent;
using System.Diagnostics;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pyroscope.Testing;

namespace Pyroscope.AppHost.Tests;

/// <summary>
/// The real AppHost started by Aspire.Hosting.Testing without a Docker engine (projects and executables only), each
/// run with its own data directory and ports. Every Pyroscope process gets <paramref name="environment"/> on top of
/// what the AppHost gives it.
/// </summary>
internal sealed class LocalTopology : IAsyncDisposable
{
    private readonly string _runDirectory;
    private readonly ConcurrentDictionary<string, ResourceEvent> _lastSeen = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopWatching = new();
    private readonly Task _watching;
    private string? _failure;

    private LocalTopology(DistributedApplication app, int azuritePort, string runDirectory)
    {
        App = app;
        _runDirectory = runDirectory;
        BlobConnectionString =
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
            $"BlobEndpoint=http://127.0.0.1:{azuritePort}/devstoreaccount1;";
        _watching = WatchAsync(_stopWatching.Token);
    }

    public DistributedApplication App { get; }

    /// <summary>Azurite's well-known development account on this run's port.</summary>
    public string BlobConnectionString { get; }

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
        // A killed component fails its health check every few seconds, each time with a stack trace; the resource
        // states (WithResourceStatesOnFailureAsync) say the same in a line.
        builder.Services.AddLogging(logging => logging.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.Critical));
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

    /// <summary>
    /// Runs one step of a test and, when it fails, adds what every resource instance last reported (state, exit code,
    /// health) to the message: a component that crashed or never became healthy shows there.
    /// </summary>
    public async Task WithResourceStatesOnFailureAsync(Func<Task> step)
    {
        try
        {
            await step();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _failure = $"{e.Message}{Environment.NewLine}resources: {DescribeResources()}";
            throw new Xunit.Sdk.XunitException(_failure, e);
        }
    }

    /// <summary>One line per resource instance: id, state, exit code when it has one, health.</summary>
    public string DescribeResources()
    {
        var lines = new List<string>();
        foreach (var (id, seen) in _lastSeen.OrderBy(r => r.Key, StringComparer.Ordinal))
        {
            var snapshot = seen.Snapshot;
            lines.Add($"{id} {snapshot.State?.Text ?? "?"}{(snapshot.ExitCode is { } code ? $" exit {code}" : "")} {snapshot.HealthStatus?.ToString() ?? "no health"}");
        }
        return string.Join("; ", lines);
    }

    private async Task WatchAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var update in App.ResourceNotifications.WatchAsync(cancellationToken))
            {
                _lastSeen[update.ResourceId] = update;
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed.
        }
    }

    private static int? ProcessId(ResourceEvent resource) =>
        resource.Snapshot.Properties.FirstOrDefault(p => p.Name == "executable.pid")?.Value is { } pid
            ? Convert.ToInt32(pid, System.Globalization.CultureInfo.InvariantCulture)
            : null;

    public async ValueTask DisposeAsync()
    {
        await _stopWatching.CancelAsync();
        await _watching;
        _stopWatching.Dispose();
        await App.DisposeAsync();
        // The run's WALs, blocks and Azurite files (the AppHost keeps them between ordinary local runs).
        if (Directory.Exists(_runDirectory))
        {
            Directory.Delete(_runDirectory, recursive: true);
        }
        // When a test fails, the test process's whole console (every component's log lines) is printed after the test
        // results, and CI keeps the tail of a long log: say it again there, last.
        if (_failure is not null)
        {
            Console.WriteLine($"FAILED: {_failure}");
        }
    }
}
