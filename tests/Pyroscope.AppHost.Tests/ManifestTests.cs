using System.Text.Json;
using Pyroscope.Testing;

namespace Pyroscope.AppHost.Tests;

/// <summary>What azd deploys: the publish manifest uses deployable resources only (no local executables).</summary>
public class ManifestTests
{
    [Fact]
    public async Task Publish_manifest_has_the_three_components_and_a_redis_container()
    {
        var output = Path.Combine(Directory.CreateTempSubdirectory("aspire-manifest-").FullName, "manifest.json");
        var appHost = Path.Combine(AppContext.BaseDirectory, "Pyroscope.AppHost.dll");
        var (code, log) = await ExternalProcess.RunAsync("dotnet", [appHost, "--publisher", "manifest", "--output-path", output], TimeSpan.FromMinutes(2),
            environment: new Dictionary<string, string?> { ["ASPIRE_ALLOW_UNSECURED_TRANSPORT"] = "true" });
        Assert.True(code == 0, log);

        using var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(output, TestContext.Current.CancellationToken));
        var resources = manifest.RootElement.GetProperty("resources");
        Assert.Equal("container.v0", resources.GetProperty("redis").GetProperty("type").GetString());
        foreach (var component in new[] { "distributor", "ingester", "querier" })
        {
            Assert.Equal("project.v0", resources.GetProperty(component).GetProperty("type").GetString());
        }
        foreach (var resource in resources.EnumerateObject())
        {
            Assert.NotEqual("executable.v0", resource.Value.GetProperty("type").GetString());
        }
    }
}
