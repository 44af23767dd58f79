using System.Text.Json;
using Pyroscope.Testing;

namespace Pyroscope.AppHost.Tests;

/// <summary>
/// azd ignores replica counts, so azure.yaml's postdeploy hook (<c>pin-replicas.sh</c>) applies the AppHost's
/// Topology numbers to the deployed container apps. The Azure CLI cannot run here: a stand-in <c>az</c> on the
/// PATH records the commands the hook would run.
/// </summary>
public class ReplicaHookTests
{
    private static readonly string AppHost = Path.Combine(RepositoryPaths.Root, "src", "Pyroscope.AppHost");

    [Fact]
    public async Task The_hook_pins_every_app_to_the_counts_in_the_apphost_configuration()
    {
        using var settings = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(AppHost, "appsettings.json"), TestContext.Current.CancellationToken));
        var topology = settings.RootElement.GetProperty("Topology");
        var commands = await RunHookAsync(await File.ReadAllTextAsync(Path.Combine(AppHost, "appsettings.json"), TestContext.Current.CancellationToken));

        var expected = new List<string>
        {
            Pin("distributor", topology.GetProperty("DistributorReplicas").GetInt32()),
            Pin("querier", topology.GetProperty("QuerierReplicas").GetInt32()),
            Pin("compactor", 1),
        };
        for (var i = 0; i < topology.GetProperty("Ingesters").GetInt32(); i++)
        {
            expected.Add(Pin($"ingester-{i}", 1));
        }
        Assert.Equal(expected, commands);
    }

    [Fact]
    public async Task Changing_a_number_in_appsettings_changes_what_is_deployed()
    {
        var commands = await RunHookAsync("""
            { "Topology": { "Ingesters": 5, "ReplicationFactor": 3, "DistributorReplicas": 4, "QuerierReplicas": 2 } }
            """);
        Assert.Contains(Pin("distributor", 4), commands);
        Assert.Contains(Pin("querier", 2), commands);
        Assert.Contains(Pin("ingester-4", 1), commands);
        Assert.Equal(8, commands.Count);
    }

    [Fact]
    public async Task A_missing_count_stops_the_hook_before_any_change()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => RunHookAsync("""{ "Topology": { "Ingesters": 3 } }"""));
        Assert.Contains("Topology:DistributorReplicas", error.Message);
        Assert.DoesNotContain("containerapp update", error.Message);
    }

    private static string Pin(string app, int replicas) =>
        $"containerapp update --name {app} --resource-group rg-test --min-replicas {replicas} --max-replicas {replicas} --output none";

    /// <summary>Runs a copy of the hook next to <paramref name="appsettings"/> as azd would (AZURE_ENV_NAME set); returns the az commands.</summary>
    private static async Task<List<string>> RunHookAsync(string appsettings)
    {
        var directory = Directory.CreateTempSubdirectory("pyroscope-hook-").FullName;
        try
        {
            File.Copy(Path.Combine(AppHost, "pin-replicas.sh"), Path.Combine(directory, "pin-replicas.sh"));
            await File.WriteAllTextAsync(Path.Combine(directory, "appsettings.json"), appsettings);
            var bin = Directory.CreateDirectory(Path.Combine(directory, "bin")).FullName;
            var log = Path.Combine(directory, "az.log");
            var az = Path.Combine(bin, "az");
            await File.WriteAllTextAsync(az, $"#!/bin/sh\necho \"$*\" >> '{log}'\n");
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(az, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }

            var (code, output) = await ExternalProcess.RunAsync("sh", [Path.Combine(directory, "pin-replicas.sh")], TimeSpan.FromMinutes(1), directory,
                new Dictionary<string, string?>
                {
                    ["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH"),
                    ["AZURE_ENV_NAME"] = "test",
                    ["AZURE_RESOURCE_GROUP"] = null,
                });
            var commands = File.Exists(log) ? (await File.ReadAllLinesAsync(log)).ToList() : [];
            if (code != 0)
            {
                throw new InvalidOperationException($"hook exited {code}: {output}; az was called {commands.Count} time(s): {string.Join(" | ", commands)}");
            }
            return commands;
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
