using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Pyroscope.Contracts.Recording.V1;
using Pyroscope.Contracts.Settings.V1;
using Pyroscope.Testing;

namespace Pyroscope.IntegrationTests;

/// <summary>
/// Recording rules as Grafana's Profiles Drilldown creates them (recordingRulesApiClient.ts: Connect JSON, generated
/// protobuf-es objects with their "$typeName" keys), against a real monolith: the CRUD contract, persistence, and
/// the effect — the series on /recording-rules/metrics and from SelectRecordedSeries equal an independent decode of
/// the pushed fixtures.
/// </summary>
public class RecordingRulesTests
{
    private const string Rules = "/settings.v1.RecordingRulesService/";
    private const string CpuType = "process_cpu:cpu:nanoseconds:cpu:nanoseconds";
    private const string Function = "sort.pdqsort";

    private static readonly string[] Quiet = ["-self-profiling.disable-push=true"];

    [Fact]
    public async Task Drilldown_creates_lists_and_deletes_rules_with_upstreams_generation_rules_and_they_survive_a_restart()
    {
        var ct = TestContext.Current.CancellationToken;
        var dataDirectory = Directory.CreateTempSubdirectory("pyroscope-rules-").FullName;
        try
        {
            string cpuId, gcId;
            await using (var server = await PyroscopeProcess.StartReadyAsync("Pyroscope.All", Quiet, dataDirectory))
            {
                // Drilldown offers "create metric" where capabilities.v1 reports the ruler.
                var (_, capabilities) = await PostJsonAsync(server.Http, "/capabilities.v1.FeatureFlagsService/GetFeatureFlags", "{}", ct);
                var enabled = JsonDocument.Parse(capabilities).RootElement.GetProperty("featureFlags").EnumerateArray()
                    .Where(f => f.TryGetProperty("enabled", out var on) && on.GetBoolean()).Select(f => f.GetProperty("name").GetString()).ToList();
                Assert.Contains("pyroscopeRuler", enabled);
                Assert.Contains("pyroscopeRulerFunctions", enabled);

                // An empty list is "{}": Drilldown reads a missing "rules" as none.
                var (status, empty) = await PostJsonAsync(server.Http, Rules + "ListRecordingRules", "{}", ct);
                Assert.Equal(HttpStatusCode.OK, status);
                Assert.False(JsonDocument.Parse(empty).RootElement.TryGetProperty("rules", out _));

                cpuId = await CreateAsDrilldownAsync(server.Http, "profiles_recorded_cpu_total", "checkout", functionName: null, ct);
                gcId = await CreateAsDrilldownAsync(server.Http, "profiles_recorded_pdqsort_total", "checkout", Function, ct);
                Assert.Matches("^[a-zA-Z]{10}$", cpuId);

                var (_, listed) = await PostJsonAsync(server.Http, Rules + "ListRecordingRules", "{}", ct);
                var rules = JsonDocument.Parse(listed).RootElement.GetProperty("rules").EnumerateArray().ToList();
                Assert.Equal(2, rules.Count);
                var gc = rules.Single(r => r.GetProperty("id").GetString() == gcId);
                Assert.Equal(CpuType, gc.GetProperty("profileType").GetString());
                Assert.Equal("1", gc.GetProperty("generation").GetString());
                Assert.Equal(Function, gc.GetProperty("stacktraceFilter").GetProperty("functionName").GetProperty("functionName").GetString());

                // Replacing needs the generation read; a stale one is a conflict, as upstream.
                var replace = Upsert(cpuId, "profiles_recorded_cpu_total", generation: 1, groupBy: ["service_name"]);
                var (replaced, replacedBody) = await PostJsonAsync(server.Http, Rules + "UpsertRecordingRule", replace, ct);
                Assert.Equal(HttpStatusCode.OK, replaced);
                Assert.Equal("2", JsonDocument.Parse(replacedBody).RootElement.GetProperty("rule").GetProperty("generation").GetString());
                var (conflict, conflictBody) = await PostJsonAsync(server.Http, Rules + "UpsertRecordingRule", replace, ct);
                Assert.Equal(HttpStatusCode.Conflict, conflict);
                Assert.Contains("already_exists", conflictBody);
                Assert.Contains("generation 2", conflictBody);

                // Bad input names its field.
                var badMatcher = "{\"metricName\":\"profiles_recorded_x\",\"matchers\":[\"{service_name=~\\\"(\\\"}\",\"{__profile_type__=\\\"" + CpuType + "\\\"}\"]}";
                var (badStatus, badBody) = await PostJsonAsync(server.Http, Rules + "UpsertRecordingRule", badMatcher, ct);
                Assert.Equal(HttpStatusCode.BadRequest, badStatus);
                Assert.Contains("invalid_argument", badBody);
                Assert.Contains("matcher", badBody);
                var unknownType = "{\"metricName\":\"profiles_recorded_x\",\"matchers\":[\"{__profile_type__=\\\"" + CpuType + "\\\"}\"],\"stacktraceFilter\":{\"functionName\":{\"functionName\":\"f\",\"metricType\":5}}}";
                var (typeStatus, typeBody) = await PostJsonAsync(server.Http, Rules + "UpsertRecordingRule", unknownType, ct);
                Assert.Equal(HttpStatusCode.BadRequest, typeStatus);
                Assert.Contains("stacktrace_filter.function_name.metric_type", typeBody);
                var (nameStatus, nameBody) = await PostJsonAsync(server.Http, Rules + "UpsertRecordingRule",
                    "{\"metricName\":\"cpu\",\"matchers\":[\"{service_name=\\\"a\\\"}\"]}", ct);
                Assert.Equal(HttpStatusCode.BadRequest, nameStatus);
                Assert.Contains("metric_name", nameBody);
                Assert.Contains("__profile_type__", nameBody);

                // gRPC sees the same store; Delete as Drilldown sends it.
                using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.GrpcPort}");
                var client = new RecordingRulesService.RecordingRulesServiceClient(channel);
                var viaGrpc = await client.GetRecordingRuleAsync(new GetRecordingRuleRequest { Id = cpuId }, cancellationToken: ct);
                Assert.Equal(["service_name"], viaGrpc.Rule.GroupBy);
                var (deleted, deletedBody) = await PostJsonAsync(server.Http, Rules + "DeleteRecordingRule", JsonSerializer.Serialize(new { id = gcId }), ct);
                Assert.Equal(HttpStatusCode.OK, deleted);
                Assert.Empty(JsonDocument.Parse(deletedBody).RootElement.EnumerateObject());
                var missing = await Assert.ThrowsAsync<RpcException>(async () => await client.GetRecordingRuleAsync(new GetRecordingRuleRequest { Id = gcId }, cancellationToken: ct));
                Assert.Equal(StatusCode.NotFound, missing.StatusCode);
                var (gone, _) = await PostJsonAsync(server.Http, Rules + "DeleteRecordingRule", JsonSerializer.Serialize(new { id = gcId }), ct);
                Assert.Equal(HttpStatusCode.NotFound, gone);
            }

            await using var restarted = await PyroscopeProcess.StartReadyAsync("Pyroscope.All", Quiet, dataDirectory);
            var (_, afterRestart) = await PostJsonAsync(restarted.Http, Rules + "ListRecordingRules", "{}", ct);
            var rule = Assert.Single(JsonDocument.Parse(afterRestart).RootElement.GetProperty("rules").EnumerateArray());
            Assert.Equal(cpuId, rule.GetProperty("id").GetString());
            Assert.Equal("2", rule.GetProperty("generation").GetString());
            // Upstream's object layout in the store, so either implementation reads the other's.
            var stored = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(restarted.DataDirectory, "data-shared", "anonymous", "settings", "recording_rule.v1.json"), ct)).RootElement;
            // The store's own generation counts its writes: two creates, a replace and a delete.
            Assert.Equal("4", stored.GetProperty("generation").GetString());
            Assert.Equal(cpuId, Assert.Single(stored.GetProperty("elements").EnumerateArray()).GetProperty("id").GetString());
        }
        finally
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task A_rules_series_equals_an_independent_decode_of_the_pushed_fixtures_on_the_metrics_endpoint_and_from_stored_profiles()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await PyroscopeProcess.StartReadyAsync("Pyroscope.All", Quiet);

        var fixture = await File.ReadAllBytesAsync(RepositoryPaths.Fixture("go/go-cpu.pb.gz"), ct);
        var profile = ExpectedStacks.ParsePprof(fixture);
        var cpuIndex = Enumerable.Range(0, profile.SampleType.Count).Single(i => ExpectedStacks.SampleType(profile, i) == "cpu:nanoseconds");
        var stacks = ExpectedStacks.FromPprof(profile, cpuIndex);
        var total = stacks.Values.Sum();
        // Each sample once, though pdqsort recurses within a stack.
        var functionTotal = stacks.Where(s => s.Key.Split(';').Contains(Function)).Sum(s => s.Value);
        Assert.InRange(functionTotal, 1, total - 1);
        Assert.Contains(stacks.Keys, k => k.Split(';').Count(f => f == Function) > 1);

        var totalId = await CreateAsDrilldownAsync(server.Http, "profiles_recorded_cpu_nanoseconds_total", serviceName: null, functionName: null, ct,
            groupBy: ["service_name"], externalLabels: """[{"name":"team","value":"shop"}]""");
        var functionId = await CreateAsDrilldownAsync(server.Http, "profiles_recorded_pdqsort_nanoseconds_total", "checkout", Function, ct);

        // checkout twice (20 s apart), billing once; a heap profile of checkout matches neither rule's profile type.
        var t0 = profile.TimeNanos / 1_000_000;
        await PushAsync(server.Http, profile, "checkout", t0, ct);
        await PushAsync(server.Http, profile, "checkout", t0 + 20_000, ct);
        await PushAsync(server.Http, profile, "billing", t0 + 5_000, ct);
        var heap = await File.ReadAllBytesAsync(RepositoryPaths.Fixture("go/go-heap.pb.gz"), ct);
        await PushAsync(server.Http, ExpectedStacks.ParsePprof(heap), "checkout", t0, ct);

        var (scrapeStatus, contentType, scraped) = await ScrapeAsync(server.Http, ct);
        Assert.Equal(HttpStatusCode.OK, scrapeStatus);
        Assert.StartsWith("text/plain; version=0.0.4", contentType);
        var samples = ParseExposition(scraped);
        Assert.Equal(2 * total, samples[$"profiles_recorded_cpu_nanoseconds_total{{profiles_rule_id=\"{totalId}\",service_name=\"checkout\",team=\"shop\"}}"]);
        Assert.Equal(total, samples[$"profiles_recorded_cpu_nanoseconds_total{{profiles_rule_id=\"{totalId}\",service_name=\"billing\",team=\"shop\"}}"]);
        Assert.Equal(2 * functionTotal, samples[$"profiles_recorded_pdqsort_nanoseconds_total{{profiles_rule_id=\"{functionId}\"}}"]);
        Assert.Equal(3, samples.Count);
        Assert.Contains("# TYPE profiles_recorded_cpu_nanoseconds_total counter\n", scraped);

        // The same numbers from the stored profiles, SelectSeries-style: step 10 s puts the pushes at t0, t0+10 s and t0+20 s.
        var start = t0 - 10_000;
        var byTotal = await SelectRecordedAsync(server.Http, new SelectRecordedSeriesRequest { RuleId = totalId, Start = start, End = t0 + 30_000, Step = 10 }, ct);
        Assert.Equal(2, byTotal.Series.Count);
        var checkout = byTotal.Series.Single(s => s.Labels.Any(l => l.Name == "service_name" && l.Value == "checkout"));
        Assert.Equal(
            ["__name__=profiles_recorded_cpu_nanoseconds_total", $"profiles_rule_id={totalId}", "service_name=checkout", "team=shop"],
            checkout.Labels.Select(l => l.Name + "=" + l.Value));
        Assert.Equal([(t0, (double)total), (t0 + 20_000, (double)total)], checkout.Points.Select(p => (p.Timestamp, p.Value)));
        var billing = byTotal.Series.Single(s => s != checkout);
        Assert.Equal([(t0 + 10_000, (double)total)], billing.Points.Select(p => (p.Timestamp, p.Value)));

        var byFunction = await SelectRecordedAsync(server.Http, new SelectRecordedSeriesRequest { RuleId = functionId, Start = start, End = t0 + 30_000, Step = 10 }, ct);
        var functionSeries = Assert.Single(byFunction.Series);
        Assert.Equal([(t0, (double)functionTotal), (t0 + 20_000, (double)functionTotal)], functionSeries.Points.Select(p => (p.Timestamp, p.Value)));

        // A rule not saved yet can be previewed; an unknown rule id is not_found.
        var preview = await SelectRecordedAsync(server.Http, new SelectRecordedSeriesRequest
        {
            Start = start,
            End = t0 + 30_000,
            Step = 10,
            Rule = new UpsertRecordingRuleRequest { MetricName = "profiles_recorded_all", Matchers = { $"{{__profile_type__=\"{CpuType}\"}}" } },
        }, ct);
        Assert.Equal(3 * total, Assert.Single(preview.Series).Points.Sum(p => p.Value));
        var (unknownStatus, unknownBody) = await PostJsonAsync(server.Http, "/recording.v1.RecordedSeriesService/SelectRecordedSeries", "{\"ruleId\":\"nope\",\"start\":\"0\",\"end\":\"1\"}", ct);
        Assert.Equal(HttpStatusCode.NotFound, unknownStatus);
        Assert.Contains("nope", unknownBody);
    }

    [Fact]
    public async Task Prometheus_scrapes_the_recorded_counters_and_fires_an_alert_on_one()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await PyroscopeProcess.StartReadyAsync("Pyroscope.All", Quiet);
        var fixture = ExpectedStacks.ParsePprof(await File.ReadAllBytesAsync(RepositoryPaths.Fixture("go/go-cpu.pb.gz"), ct));
        var cpuIndex = Enumerable.Range(0, fixture.SampleType.Count).Single(i => ExpectedStacks.SampleType(fixture, i) == "cpu:nanoseconds");
        var total = ExpectedStacks.FromPprof(fixture, cpuIndex).Values.Sum();
        await CreateAsDrilldownAsync(server.Http, "profiles_recorded_checkout_cpu_total", "checkout", functionName: null, ct);
        await PushAsync(server.Http, fixture, "checkout", fixture.TimeNanos / 1_000_000, ct);

        await using var prometheus = await PrometheusServer.StartAsync(server.HttpPort, """
            groups:
              - name: pyroscope
                rules:
                  - alert: CheckoutCpuRecorded
                    expr: sum(profiles_recorded_checkout_cpu_total) > 0
                    labels: { severity: page }
            """, ct);
        // Prometheus' own parser read the page: the target is up and the counter holds the independent total.
        double? value = null;
        await Poll.UntilAsync(async () => (value = await prometheus.QueryScalarAsync("sum(profiles_recorded_checkout_cpu_total)", ct)) is not null,
            "Prometheus scraped the recorded counter", timeoutSeconds: 60);
        Assert.Equal(total, (long)value!.Value);
        Assert.Equal(1, await prometheus.QueryScalarAsync("up{job=\"pyroscope-recording-rules\"}", ct));
        await Poll.UntilAsync(async () => (await prometheus.FiringAlertsAsync(ct)).Contains("CheckoutCpuRecorded"),
            "the alert on the recorded metric fired", timeoutSeconds: 60);

        // promtool (Prometheus' linter) accepts the page as it is, and the alert rule shown in the docs.
        var (_, _, page) = await ScrapeAsync(server.Http, ct);
        var pageFile = Path.Combine(prometheus.Directory, "page.txt");
        await File.WriteAllTextAsync(pageFile, page, ct);
        var lint = await ExternalProcess.RunAsync("bash", ["-c", $"promtool check metrics < '{pageFile}'"], TimeSpan.FromSeconds(60));
        Assert.True(lint.ExitCode == 0, lint.Output);
        var docsRules = await ExternalProcess.RunAsync("promtool", ["check", "rules", Path.Combine(RepositoryPaths.Root, "docs", "recording-rules-alerts.yml")], TimeSpan.FromSeconds(60));
        Assert.True(docsRules.ExitCode == 0, docsRules.Output);
    }

    private static string Upsert(string? id, string metricName, long generation = 0, string[]? groupBy = null, string? serviceName = "checkout")
    {
        var matchers = new List<string>();
        if (serviceName is not null)
        {
            matchers.Add($"{{ service_name=\"{serviceName}\" }}");
        }
        matchers.Add($"{{ __profile_type__=\"{CpuType}\"}}");
        return JsonSerializer.Serialize(new { id, metricName, matchers, groupBy = groupBy ?? [], generation = generation.ToString(CultureInfo.InvariantCulture) });
    }

    /// <summary>The body recordingRulesApiClient.create sends, byte for byte in shape ("$typeName" keys, enum as a number).</summary>
    internal static async Task<string> CreateAsDrilldownAsync(HttpClient http, string metricName, string? serviceName, string? functionName, CancellationToken ct,
        string[]? groupBy = null, string? externalLabels = null)
    {
        var matchers = new List<string>();
        if (serviceName is not null)
        {
            matchers.Add($"{{ service_name=\"{serviceName}\" }}");
        }
        matchers.Add($"{{ __profile_type__=\"{CpuType}\"}}");
        var body = new StringBuilder();
        body.Append("{\"metricName\":").Append(JsonSerializer.Serialize(metricName))
            .Append(",\"matchers\":").Append(JsonSerializer.Serialize(matchers))
            .Append(",\"groupBy\":").Append(JsonSerializer.Serialize(groupBy ?? []));
        if (externalLabels is not null)
        {
            body.Append(",\"externalLabels\":").Append(externalLabels);
        }
        if (functionName is not null)
        {
            body.Append(",\"stacktraceFilter\":{\"$typeName\":\"settings.v1.StacktraceFilter\",\"functionName\":{\"$typeName\":\"settings.v1.StacktraceFilterFunctionName\",\"functionName\":")
                .Append(JsonSerializer.Serialize(functionName)).Append(",\"metricType\":0}}");
        }
        body.Append('}');
        var (status, response) = await PostJsonAsync(http, Rules + "UpsertRecordingRule", body.ToString(), ct);
        Assert.True(status == HttpStatusCode.OK, response);
        return JsonDocument.Parse(response).RootElement.GetProperty("rule").GetProperty("id").GetString()!;
    }

    internal static async Task PushAsync(HttpClient http, Contracts.Google.V1.Profile profile, string service, long timeMs, CancellationToken ct)
    {
        var copy = profile.Clone();
        copy.TimeNanos = timeMs * 1_000_000;
        using var content = new ByteArrayContent(copy.ToByteArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await http.PostAsync($"/ingest?name={service}&format=pprof&spyName=gospy", content, ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync(ct));
    }

    internal static async Task<(HttpStatusCode Status, string ContentType, string Body)> ScrapeAsync(HttpClient http, CancellationToken ct)
    {
        using var response = await http.GetAsync("/recording-rules/metrics", ct);
        return (response.StatusCode, response.Content.Headers.ContentType?.ToString() ?? "", await response.Content.ReadAsStringAsync(ct));
    }

    /// <summary>Sample lines by "name{labels}" as written; comments and blank lines skipped.</summary>
    internal static Dictionary<string, long> ParseExposition(string text)
    {
        var samples = new Dictionary<string, long>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            var space = line.LastIndexOf(' ');
            samples[line[..space]] = long.Parse(line[(space + 1)..], CultureInfo.InvariantCulture);
        }
        return samples;
    }

    internal static async Task<SelectRecordedSeriesResponse> SelectRecordedAsync(HttpClient http, SelectRecordedSeriesRequest request, CancellationToken ct)
    {
        using var content = new ByteArrayContent(request.ToByteArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/proto");
        using var response = await http.PostAsync("/recording.v1.RecordedSeriesService/SelectRecordedSeries", content, ct);
        var body = await response.Content.ReadAsByteArrayAsync(ct);
        Assert.True(response.IsSuccessStatusCode, Encoding.UTF8.GetString(body));
        return SelectRecordedSeriesResponse.Parser.ParseFrom(body);
    }

    internal static async Task<(HttpStatusCode Status, string Body)> PostJsonAsync(HttpClient http, string path, string json, CancellationToken ct)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        message.Headers.Add("X-Grafana-Org-Id", "1");
        using var response = await http.SendAsync(message, ct);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(ct));
    }
}
