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
internal sealed class LocalTopology(DistributedApplication app, int azuritePort) : IAsyncDisposable
{
    public DistributedApplication App { get; } = app;

    /// <summary>Azurite's well-known development account on this run's port.</summary>
    public string BlobConnectionString { get; } =
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
        $"BlobEndpoint=http://127.0.0.1:{azuritePort}/devstoreaccount1;";

    public static async Task<LocalTopology> StartAsync(string mode, IReadOnlyList<string> settings, IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken)
    {
        var azuritePort = FreePort.Next();
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Pyroscope_AppHost>(
            [
                $"PYROSCOPE_MODE={mode}",
                $"PYROSCOPE_RUN_ID=test-{Guid.NewGuid().ToString("N")[..8]}",
                $"redis-port={FreePort.Next()}",
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
        return new LocalTopology(app, azuritePort);
    }

    /// <summary>Kills a component's process and its children at once (SIGKILL): no shutdown, no flush, no ring exit.</summary>
    public async Task KillAsync(string resourceName, CancellationToken cancellationToken)
    {
        var running = await App.ResourceNotifications.WaitForResourceAsync(resourceName, e => ProcessId(e) is not null, cancellationToken);
        using var process = Process.GetProcessById(ProcessId(running)!.Value);
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync(cancellationToken);
    }

    private static int? ProcessId(ResourceEvent resource) =>
        resource.Snapshot.Properties.FirstOrDefault(p => p.Name == "executable.pid")?.Value is { } pid
            ? Convert.ToInt32(pid, System.Globalization.CultureInfo.InvariantCulture)
            : null;

    public async ValueTask DisposeAsync() => await App.DisposeAsync();
}
