using System.Net;
using System.Text.RegularExpressions;
using Pyroscope.Testing;

namespace Pyroscope.Hosting.Tests;

/// <summary>
/// An object store that cannot be used keeps the modules that need it from running, says so in /ready and the log
/// (once per cause), leaves the modules that do not need it alone, and the process becomes ready by itself once
/// the store is there.
/// </summary>
public class StorageReadinessTests
{
    private static PyroscopeProcess StartAgainst(string connectionString) =>
        PyroscopeProcess.Start("Pyroscope.All",
            ["-storage.backend=azure", "-storage.azure.container-name=pyroscope", "-storage.azure.max-retries=0", "-self-profiling.disable-push=true"],
            environment: new Dictionary<string, string?> { ["storage__azure__connection_string"] = connectionString });

    private static async Task<string> WaitForNotReadyAsync(PyroscopeProcess process, string expected)
    {
        var body = "";
        await Poll.UntilAsync(async () =>
        {
            try
            {
                using var response = await process.Http.GetAsync("/ready");
                body = await response.Content.ReadAsStringAsync();
                return response.StatusCode == HttpStatusCode.ServiceUnavailable && body.Contains(expected, StringComparison.Ordinal);
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, $"/ready to answer 503 with \"{expected}\"", timeoutSeconds: 90);
        return body;
    }

    [Fact]
    public async Task A_store_that_is_down_keeps_storage_starting_and_the_process_recovers_when_it_comes_up()
    {
        var blobPort = FreePort.Next();
        await using var process = StartAgainst(AzuriteServer.ConnectionStringFor(blobPort));

        var ready = await WaitForNotReadyAsync(process, $"Unhealthy: storage: azure container 'pyroscope' at http://127.0.0.1:{blobPort}:");
        Assert.Contains("Starting: storage", ready);
        var services = await process.Http.GetStringAsync("/services", TestContext.Current.CancellationToken);
        Assert.Contains("storage Starting", services);
        Assert.Contains("distributor Running", services); // it does not use the store
        Assert.Contains("ingester New", services);
        // The ingester's endpoints and the push path refuse clearly while it waits for its dependency.
        using var push = await process.Http.PostAsync("/ingest?name=app&format=folded", new StringContent("main;work 1"), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, push.StatusCode);

        // Retries run 1, 2, 4 s apart: after 4 more seconds at least two have failed, and the cause is logged once.
        await Task.Delay(TimeSpan.FromSeconds(4), TestContext.Current.CancellationToken);
        Assert.Equal(1, Regex.Count(process.Output, "Object store azure container 'pyroscope' at http://127.0.0.1:\\d+ cannot be used"));

        await using var azurite = await AzuriteServer.StartAsync(blobPort);
        await process.WaitUntilReadyAsync(TimeSpan.FromSeconds(90));
        Assert.Contains("storage Running", await process.Http.GetStringAsync("/services", TestContext.Current.CancellationToken));
        using var accepted = await process.Http.PostAsync("/ingest?name=app&format=folded", new StringContent("main;work 1"), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Contains("is usable again", process.Output);
    }

    [Fact]
    public async Task A_wrong_account_key_is_named_in_ready()
    {
        await using var azurite = await AzuriteServer.StartAsync();
        var wrongKey = Convert.ToBase64String(new byte[64]);
        await using var process = StartAgainst(AzuriteServer.ConnectionStringFor(azurite.Port, wrongKey));

        // On a loaded machine a first probe can time out instead; the store's own answer follows on the next retry.
        var ready = await WaitForNotReadyAsync(process, "Server failed to authenticate the request");
        Assert.Contains("Unhealthy: storage: azure container 'pyroscope'", ready);
        Assert.Contains("Starting: storage", ready);
    }
}
