using System.Text.Json;
using Pyroscope.Testing;

namespace Pyroscope.AppHost.Tests;

/// <summary>
/// The manifest azd reads, written by the real AppHost (<c>--publisher manifest</c>) the way azd invokes it: once
/// with the checked-in configuration and once with other component counts, in parallel.
/// </summary>
public sealed class PublishedManifest : IAsyncLifetime
{
    private string? _directory;

    /// <summary>The manifest of the AppHost as configured in its appsettings.json.</summary>
    public JsonElement Default { get; private set; }

    /// <summary>The manifest with <c>Topology:Ingesters=5</c> and <c>Topology:ReplicationFactor=2</c>.</summary>
    public JsonElement Rescaled { get; private set; }

    public async ValueTask InitializeAsync()
    {
        _directory = Directory.CreateTempSubdirectory("aspire-manifest-").FullName;
        var manifests = await Task.WhenAll(
            WriteAsync(Path.Combine(_directory, "default"), []),
            WriteAsync(Path.Combine(_directory, "rescaled"), ["--Topology:Ingesters=5", "--Topology:ReplicationFactor=2"]));
        (Default, Rescaled) = (manifests[0], manifests[1]);
    }

    public ValueTask DisposeAsync()
    {
        if (_directory is not null)
        {
            Directory.Delete(_directory, recursive: true);
        }
        return ValueTask.CompletedTask;
    }

    private static async Task<JsonElement> WriteAsync(string directory, string[] settings)
    {
        Directory.CreateDirectory(directory);
        var output = Path.Combine(directory, "manifest.json");
        var (code, log) = await RunAppHostAsync(output, settings);
        Assert.True(code == 0, log);
        using var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(output));
        return manifest.RootElement.GetProperty("resources").Clone();
    }

    /// <summary>Runs the built AppHost's manifest publisher with extra configuration, as azd does.</summary>
    public static Task<(int ExitCode, string Output)> RunAppHostAsync(string output, string[] settings)
    {
        var appHost = Path.Combine(AppContext.BaseDirectory, "Pyroscope.AppHost.dll");
        return ExternalProcess.RunAsync("dotnet", [appHost, "--publisher", "manifest", "--output-path", output, .. settings], TimeSpan.FromMinutes(3),
            // As `dotnet run --project src/Pyroscope.AppHost` (what azd runs): the AppHost's folder holds its appsettings.json.
            workingDirectory: Path.Combine(RepositoryPaths.Root, "src", "Pyroscope.AppHost"),
            environment: new Dictionary<string, string?> { ["ASPIRE_ALLOW_UNSECURED_TRANSPORT"] = "true", ["PYROSCOPE_MODE"] = "microservices" });
    }
}
