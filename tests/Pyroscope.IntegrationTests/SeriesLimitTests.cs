using System.Net;
using System.Text.Json;
using Pyroscope.Testing;

namespace Pyroscope.IntegrationTests;

/// <summary>
/// -ingester.max-global-series-per-tenant end to end: real processes, real /ingest pushes, one series per push
/// (folded stacks carry one profile type), the refusal as the SDK sees it and as /metrics counts it.
/// </summary>
public sealed class SeriesLimitTests
{
    private static async Task<HttpResponseMessage> PushFoldedAsync(HttpClient http, string service, string folded, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        return await http.PostAsync($"/ingest?name={service}.cpu&from={now - 10}&until={now}&units=nanoseconds&sampleRate=100&spyName=gospy",
            new StringContent(folded), ct);
    }

    private static async Task AssertOkAsync(HttpResponseMessage response, string what, CancellationToken ct) =>
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{what} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}");

    private static async Task<(HttpStatusCode Status, string Code, string Message)> ErrorOfAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var text = await response.Content.ReadAsStringAsync(ct);
        using var json = JsonDocument.Parse(text);
        return (response.StatusCode, json.RootElement.GetProperty("code").GetString()!, json.RootElement.GetProperty("message").GetString()!);
    }

    private static async Task<bool> CountsSeriesLimitDiscardsAsync(HttpClient http, int expected, CancellationToken ct)
    {
        var metrics = await http.GetStringAsync("/metrics", ct);
        foreach (var line in metrics.Split('\n'))
        {
            if (line.StartsWith("pyroscope_discarded_samples_total{", StringComparison.Ordinal)
                && line.Contains("reason=\"series_limit\"", StringComparison.Ordinal)
                && line.Contains("tenant=\"anonymous\"", StringComparison.Ordinal))
            {
                var value = line[(line.LastIndexOf(' ') + 1)..];
                return double.Parse(value, System.Globalization.CultureInfo.InvariantCulture) == expected;
            }
        }
        return false;
    }

    [Fact]
    public async Task Monolith_refuses_the_fourth_series_with_429_keeps_accepting_known_series_and_counts_it()
    {
        var ct = TestContext.Current.CancellationToken;
        var folded = await File.ReadAllTextAsync(RepositoryPaths.Fixture("folded/go-cpu-nanoseconds.folded"), ct);
        var expected = ExpectedStacks.FromFolded(folded);
        await using var server = await PyroscopeProcess.StartMonolithAsync(["-ingester.max-global-series-per-tenant=3"]);
        // The global limit is spread over the healthy ingesters in the ring; until this one has joined it is not in force.
        await Query.EventuallyAsync(() => MicroservicesTests.HasActiveIngesterAsync(server, ct), TimeSpan.FromSeconds(60), "the ingester is ACTIVE in the ring");

        for (var i = 1; i <= 3; i++)
        {
            await AssertOkAsync(await PushFoldedAsync(server.Http, $"limited-{i}", folded, ct), $"series {i}", ct);
        }
        using (var refused = await PushFoldedAsync(server.Http, "limited-4", folded, ct))
        {
            var (status, code, message) = await ErrorOfAsync(refused, ct);
            Assert.Equal(HttpStatusCode.TooManyRequests, status);
            Assert.Equal("resource_exhausted", code);
            Assert.Contains("Maximum active series limit exceeded (3/3)", message);
            Assert.Contains("max_global_series_per_tenant=3", message);
        }
        await AssertOkAsync(await PushFoldedAsync(server.Http, "limited-1", folded, ct), "series 1 again", ct);

        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var (startMs, endMs) = (now - 3_600_000, now + 60_000);
        Assert.Empty(await Query.ProfileTypesAsync(server.Http, "limited-4", startMs, endMs, ct));
        var type = Assert.Single(await Query.ProfileTypesAsync(server.Http, "limited-1", startMs, endMs, ct));
        var once = await Query.MergedStacksAsync(server.Http, type.ID, "{service_name=\"limited-2\"}", startMs, endMs, ct);
        var twice = await Query.MergedStacksAsync(server.Http, type.ID, "{service_name=\"limited-1\"}", startMs, endMs, ct);
        Assert.Equal(expected.Keys.Order(), once.Keys.Order());
        Assert.Equal(once.ToDictionary(kv => kv.Key, kv => kv.Value * 2), twice);

        await Query.EventuallyAsync(() => CountsSeriesLimitDiscardsAsync(server.Http, 1, ct), TimeSpan.FromSeconds(30), "/metrics counts one series_limit discard");
    }

    [Fact]
    public async Task Microservices_distributor_answers_429_when_the_remote_ingester_refuses_a_series()
    {
        var ct = TestContext.Current.CancellationToken;
        var folded = await File.ReadAllTextAsync(RepositoryPaths.Fixture("folded/go-cpu-nanoseconds.folded"), ct);
        var shared = Directory.CreateTempSubdirectory("pyroscope-serieslimit-").FullName;
        await using var redis = await RedisServer.StartAsync();
        string[] common =
        [
            "-self-profiling.disable-push=true", "-ring.store=redis", $"-ring.redis.address={redis.Address}",
            $"-storage.filesystem.dir={shared}",
        ];
        PyroscopeProcess? ingester = null, distributor = null;
        try
        {
            var timeout = TimeSpan.FromSeconds(120);
            // Only the ingester is told the limit: it enforces it from its own overrides configuration.
            ingester = await PyroscopeProcess.StartReadyAsync("Pyroscope.Ingester", [.. common, "-ingester.max-global-series-per-tenant=1"]);
            distributor = await PyroscopeProcess.StartReadyAsync("Pyroscope.Distributor", common);
            await Task.WhenAll(
                Query.EventuallyAsync(() => MicroservicesTests.HasActiveIngesterAsync(distributor, ct), timeout, "the distributor sees the ingester ACTIVE"),
                Query.EventuallyAsync(() => MicroservicesTests.HasActiveIngesterAsync(ingester, ct), timeout, "the ingester sees itself ACTIVE"));

            await AssertOkAsync(await PushFoldedAsync(distributor.Http, "remote-1", folded, ct), "series 1", ct);
            using (var refused = await PushFoldedAsync(distributor.Http, "remote-2", folded, ct))
            {
                var (status, code, message) = await ErrorOfAsync(refused, ct);
                Assert.Equal(HttpStatusCode.TooManyRequests, status);
                Assert.Equal("resource_exhausted", code);
                Assert.Contains("Maximum active series limit exceeded (1/1)", message);
                Assert.Contains("max_global_series_per_tenant=1", message);
            }
            await AssertOkAsync(await PushFoldedAsync(distributor.Http, "remote-1", folded, ct), "series 1 again", ct);
            await Query.EventuallyAsync(() => CountsSeriesLimitDiscardsAsync(distributor.Http, 1, ct), timeout, "the distributor's /metrics counts the refusal");
        }
        finally
        {
            foreach (var process in new[] { distributor, ingester })
            {
                if (process is not null)
                {
                    await process.DisposeAsync();
                }
            }
            Directory.Delete(shared, recursive: true);
        }
    }
}
