using System.Net;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Pyroscope.Testing;

namespace Pyroscope.AppHost.Tests;

/// <summary>The real AppHost, started by Aspire.Hosting.Testing without Docker: executables and projects only.</summary>
public class TopologyTests
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(4);

    private static async Task<DistributedApplication> StartAsync(string mode, CancellationToken cancellationToken)
    {
        var runId = "test-" + Guid.NewGuid().ToString("N")[..8];
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.Pyroscope_AppHost>(
            [
                $"PYROSCOPE_MODE={mode}",
                $"PYROSCOPE_RUN_ID={runId}",
                $"redis-port={FreePort.Next()}",
                $"azurite-port={FreePort.Next()}",
            ],
            cancellationToken);
        var app = await builder.BuildAsync(cancellationToken);
        await app.StartAsync(cancellationToken);
        return app;
    }

    [Fact]
    public async Task Microservices_topology_starts_and_every_component_becomes_healthy()
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(StartTimeout);
        await using var app = await StartAsync("microservices", cts.Token);

        foreach (var component in new[] { "ingester", "distributor", "querier" })
        {
            await app.ResourceNotifications.WaitForResourceHealthyAsync(component, cts.Token);
            using var http = app.CreateHttpClient(component, "http");
            var ready = await http.GetAsync("/ready", cts.Token);
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            var services = await http.GetStringAsync("/services", cts.Token);
            Assert.Contains($"{component} Running", services);
        }

        // They see each other: the distributor and the querier find the ingester in the shared Redis ring.
        foreach (var component in new[] { "distributor", "querier" })
        {
            using var http = app.CreateHttpClient(component, "http");
            await WaitForActiveIngesterAsync(http, cts.Token);
        }

        // And the data path runs through them: a profile pushed to the distributor is queryable at the querier.
        using var distributor = app.CreateHttpClient("distributor", "http");
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var push = await distributor.PostAsync($"/ingest?name=apphost-e2e.cpu&from={now - 10}&until={now}", new StringContent("main;work 7\nmain;idle 3\n"), cts.Token);
        Assert.Equal(HttpStatusCode.OK, push.StatusCode);
        using var querier = app.CreateHttpClient("querier", "http");
        string rendered = string.Empty;
        while (!rendered.Contains("\"work\"", StringComparison.Ordinal))
        {
            cts.Token.ThrowIfCancellationRequested();
            var response = await querier.GetAsync("/pyroscope/render?query=process_cpu:cpu:nanoseconds:cpu:nanoseconds%7Bservice_name%3D%22apphost-e2e%22%7D&from=now-1h&until=now%2B1m&format=json", cts.Token);
            rendered = await response.Content.ReadAsStringAsync(cts.Token);
            if (!rendered.Contains("\"work\"", StringComparison.Ordinal))
            {
                await Task.Delay(200, cts.Token);
            }
        }
        Assert.Contains("\"idle\"", rendered);

        // The querier also serves Profiles Drilldown's settings, stored in the shared (Azurite) object store.
        const string setBody = "{\"setting\":{\"name\":\"pluginSettings\",\"value\":\"{\\\"maxNodes\\\":2048}\"}}";
        using var set = await querier.PostAsync("/settings.v1.SettingsService/Set", new StringContent(setBody, System.Text.Encoding.UTF8, "application/json"), cts.Token);
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        using var get = await querier.PostAsync("/settings.v1.SettingsService/Get", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"), cts.Token);
        using var settings = System.Text.Json.JsonDocument.Parse(await get.Content.ReadAsStringAsync(cts.Token));
        var stored = Assert.Single(settings.RootElement.GetProperty("settings").EnumerateArray());
        Assert.Equal("{\"maxNodes\":2048}", stored.GetProperty("value").GetString());
    }

    private static async Task WaitForActiveIngesterAsync(HttpClient http, CancellationToken cancellationToken)
    {
        string body = string.Empty;
        while (!cancellationToken.IsCancellationRequested)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/ring");
            request.Headers.Accept.ParseAdd("application/json");
            using var response = await http.SendAsync(request, cancellationToken);
            body = await response.Content.ReadAsStringAsync(cancellationToken);
            using var json = System.Text.Json.JsonDocument.Parse(body);
            foreach (var shard in json.RootElement.GetProperty("shards").EnumerateArray())
            {
                if (shard.GetProperty("state").GetString() == "ACTIVE" && shard.GetProperty("healthy").GetBoolean())
                {
                    return;
                }
            }
            await Task.Delay(200, cancellationToken);
        }
        Assert.Fail("no healthy ACTIVE ingester in the ring: " + body);
    }

    [Fact]
    public async Task Monolith_mode_runs_pyroscope_all()
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(StartTimeout);
        await using var app = await StartAsync("monolith", cts.Token);

        await app.ResourceNotifications.WaitForResourceHealthyAsync("pyroscope", cts.Token);
        using var http = app.CreateHttpClient("pyroscope", "http");
        var services = await http.GetStringAsync("/services", cts.Token);
        Assert.Contains("all Running", services);
        Assert.Contains("ingester Running", services);
    }
}
