using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Pyroscope.Contracts.Capabilities.V1;
using GetFeatureFlagsRequest = Pyroscope.Contracts.Capabilities.V1.GetFeatureFlagsRequest;
using GetFeatureFlagsResponse = Pyroscope.Contracts.Capabilities.V1.GetFeatureFlagsResponse;
using Pyroscope.Contracts.Querier.V1;
using Pyroscope.Contracts.Status.V1;
using Pyroscope.Contracts.Types.V1;
using Pyroscope.Contracts.Version.V1;
using static Pyroscope.IntegrationTests.ClientReplay.TracedProfiles;

namespace Pyroscope.IntegrationTests.ClientReplay;

/// <summary>
/// The requests Grafana's data source (Connect, binary proto, from Grafana's backend), Profiles Drilldown (Connect
/// JSON from the browser) and profilecli (gRPC here, as connect-go's gRPC protocol) send for exemplars, heatmaps, single
/// profiles, trace and span filters, call sites, DOT and pprof answers; each answer checked against
/// <see cref="TracedProfiles"/>' own decode of what was pushed.
/// </summary>
public sealed class ClientReplay(HttpClient http, GrpcChannel grpc, TracedProfiles data)
{
    private readonly QuerierService.QuerierServiceClient _querier = new(grpc);

    public static async Task PushAsync(HttpClient distributor, TracedProfiles data, CancellationToken ct)
    {
        using var content = new ByteArrayContent(data.PushRequest().ToByteArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/proto");
        using var response = await distributor.PostAsync("/push.v1.PusherService/Push", content, ct);
        Assert.True(response.IsSuccessStatusCode, $"push answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}");
    }

    /// <summary>Every replay, in the order a user would click through them.</summary>
    public async Task RunAllAsync(CancellationToken ct)
    {
        var ids = await GrafanaExemplarsThenOneProfileAsync(ct);
        await GrafanaHeatmapAsync(ids, ct);
        await GrafanaCallSiteSeriesAsync(ct);
        await DrilldownSpanSubsetAndDiffAsync(ct);
        await ProfilecliAsync(ct);
        await BadInputAsync(ct);
    }

    /// <summary>
    /// SelectSeries with exemplar_type=INDIVIDUAL; clicking an exemplar: SelectMergeStacktraces and SelectMergeProfile
    /// with its profile_id_selector. Answers the ids of A and B.
    /// </summary>
    public async Task<(string A, string B)> GrafanaExemplarsThenOneProfileAsync(CancellationToken ct)
    {
        var (totalA, totalB) = (Total(data.A), Total(data.B));
        var series = await ConnectAsync("SelectSeries", new SelectSeriesRequest
        {
            ProfileTypeID = CpuProfileType, LabelSelector = data.Selector, Start = data.Start, End = data.End, Step = 15,
            Aggregation = TimeSeriesAggregationType.Sum, ExemplarType = ExemplarType.Individual,
        }, SelectSeriesResponse.Parser, ct);
        var points = Assert.Single(series.Series).Points;
        Assert.Equal(totalA + totalB, points.Sum(p => p.Value));
        var exemplars = points.SelectMany(p => p.Exemplars).ToList();
        Assert.Equal(2, exemplars.Count);
        var a = Assert.Single(exemplars, e => e.Timestamp == data.T0);
        var b = Assert.Single(exemplars, e => e.Timestamp == data.T0 + 30_000);
        Assert.Equal((totalA, totalB), (a.Value, b.Value));
        Assert.True(Guid.TryParse(a.ProfileId, out _) && Guid.TryParse(b.ProfileId, out _), $"profile ids {a.ProfileId}, {b.ProfileId}");
        Assert.NotEqual(a.ProfileId, b.ProfileId);
        Assert.Contains(a.Labels, l => l.Name == "service_name" && l.Value == data.Service);

        // One profile by id: exactly its stacks, although both are in range.
        var one = await ConnectAsync("SelectMergeStacktraces", MergeRequest(r => r.ProfileIdSelector.Add(a.ProfileId)), SelectMergeStacktracesResponse.Parser, ct);
        Assert.Equal(Stacks(data.A), FlameStacks(one.Flamegraph));
        var pprof = await ConnectAsync("SelectMergeProfile", new SelectMergeProfileRequest
        {
            ProfileTypeID = CpuProfileType, LabelSelector = data.Selector, Start = data.Start, End = data.End, ProfileIdSelector = { b.ProfileId },
        }, Contracts.Google.V1.Profile.Parser, ct);
        Assert.Equal(Stacks(data.B), ExpectedStacks.FromPprof(pprof, 0));

        // A well-formed id that matches nothing selects nothing: an empty answer, not an error.
        var none = await ConnectAsync("SelectMergeStacktraces", MergeRequest(r => r.ProfileIdSelector.Add(Guid.NewGuid().ToString())), SelectMergeStacktracesResponse.Parser, ct);
        Assert.Equal(0, none.Flamegraph?.Total ?? 0);
        return (a.ProfileId, b.ProfileId);
    }

    /// <summary>Grafana's heatmap panel: SelectHeatmap INDIVIDUAL with exemplars, one count per profile.</summary>
    public async Task GrafanaHeatmapAsync((string A, string B) ids, CancellationToken ct)
    {
        var heatmap = await ConnectAsync("SelectHeatmap", new SelectHeatmapRequest
        {
            ProfileTypeID = CpuProfileType, LabelSelector = data.Selector, Start = data.Start, End = data.End, Step = 15,
            QueryType = HeatmapQueryType.Individual, ExemplarType = ExemplarType.Individual,
        }, SelectHeatmapResponse.Parser, ct);
        var slots = Assert.Single(heatmap.Series).Slots;
        Assert.Equal(2, slots.Sum(s => s.Counts.Sum()));
        Assert.All(slots, s => Assert.Equal(20, s.YMin.Count));
        var exemplars = slots.SelectMany(s => s.Exemplars).ToDictionary(e => e.ProfileId, e => e.Value);
        Assert.Equal(new Dictionary<string, long> { [ids.A] = Total(data.A), [ids.B] = Total(data.B) }, exemplars);
        // Each profile sits in the slot that ends at or after it.
        Assert.Equal(data.T0, slots.Single(s => s.Exemplars.Any(e => e.ProfileId == ids.A)).Timestamp);
    }

    /// <summary>SelectSeries with a stack_trace_selector (Grafana's "function" series): the call site's totals.</summary>
    public async Task GrafanaCallSiteSeriesAsync(CancellationToken ct)
    {
        var stacks = Merge(Stacks(data.A), Stacks(data.B));
        var callSite = stacks.Keys.First(k => k.Contains("crypto/sha256.block", StringComparison.Ordinal)).Split(';')[..4];
        var request = new SelectSeriesRequest
        {
            ProfileTypeID = CpuProfileType, LabelSelector = data.Selector, Start = data.Start, End = data.End, Step = 15,
            StackTraceSelector = new StackTraceSelector(),
        };
        request.StackTraceSelector.CallSite.AddRange(callSite.Select(name => new Location { Name = name }));
        var series = await ConnectAsync("SelectSeries", request, SelectSeriesResponse.Parser, ct);
        var expected = CallSiteTotal(stacks, callSite);
        Assert.True(expected > 0 && expected < stacks.Values.Sum());
        Assert.Equal(expected, Assert.Single(series.Series).Points.Sum(p => p.Value));
    }

    /// <summary>Profiles Drilldown (Connect JSON): a span's flame graph, a diff of two spans, the feature flags.</summary>
    public async Task DrilldownSpanSubsetAndDiffAsync(CancellationToken ct)
    {
        bool InSpan(Contracts.Google.V1.Profile p, Contracts.Google.V1.Sample s, string span) => LabelOf(p, s, "span_id") == span;
        long SpanTotal(string span) => Total(data.A, s => InSpan(data.A, s, span)) + Total(data.B, s => InSpan(data.B, s, span));

        var json = await ConnectJsonAsync("/querier.v1.QuerierService/SelectMergeStacktraces",
            $$"""{"profileTypeID":"{{CpuProfileType}}","labelSelector":{{JsonSerializer.Serialize(data.Selector)}},"start":"{{data.Start}}","end":"{{data.End}}","spanSelector":["{{SpanA}}"],"maxNodes":"16384"}""", ct);
        var expected = Merge(Stacks(data.A, s => InSpan(data.A, s, SpanA)), Stacks(data.B, s => InSpan(data.B, s, SpanA)));
        Assert.Equal(expected.Values.Sum(), Int64Of(json.GetProperty("flamegraph").GetProperty("total")));
        Assert.True(expected.Values.Sum() < Total(data.A) + Total(data.B));

        string Side(string span) =>
            $$"""{"profileTypeID":"{{CpuProfileType}}","labelSelector":{{JsonSerializer.Serialize(data.Selector)}},"start":"{{data.Start}}","end":"{{data.End}}","spanSelector":["{{span}}"]}""";
        var diff = await ConnectJsonAsync("/querier.v1.QuerierService/Diff", "{\"left\":" + Side(SpanA) + ",\"right\":" + Side(SpanB) + "}", ct);
        var flamegraph = diff.GetProperty("flamegraph");
        Assert.Equal(SpanTotal(SpanA), Int64Of(flamegraph.GetProperty("leftTicks")));
        Assert.Equal(SpanTotal(SpanB), Int64Of(flamegraph.GetProperty("rightTicks")));

        var flags = await ConnectJsonAsync("/capabilities.v1.FeatureFlagsService/GetFeatureFlags", "{}", ct);
        var byName = flags.GetProperty("featureFlags").EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!, f => f.TryGetProperty("enabled", out var e) && e.GetBoolean());
        Assert.True(byName["selectHeatmap"] && byName["profileIdSelector"] && byName["traceIdSelector"] && byName["seriesExemplars"]);
        Assert.False(byName["v2StorageLayer"]);
    }

    /// <summary>
    /// profilecli over gRPC: <c>query merge --trace-id</c> (format PPROF, answer in field 5), the DOT format (field 3),
    /// <c>query span-exemplars</c> (SelectHeatmap SPAN).
    /// </summary>
    public async Task ProfilecliAsync(CancellationToken ct)
    {
        bool InTrace(Contracts.Google.V1.Profile p, Contracts.Google.V1.Sample s) => LabelOf(p, s, "trace_id") == TraceB;
        var merged = await _querier.SelectMergeStacktracesAsync(MergeRequest(r =>
        {
            r.Format = ProfileFormat.Pprof;
            r.TraceIdSelector.Add(TraceB);
        }), cancellationToken: ct);
        Assert.Null(merged.Flamegraph);
        Assert.NotNull(merged.Pprof);
        Assert.Equal(Merge(Stacks(data.A, s => InTrace(data.A, s)), Stacks(data.B, s => InTrace(data.B, s))), ExpectedStacks.FromPprof(merged.Pprof.Profile, 0));

        var dot = await _querier.SelectMergeStacktracesAsync(MergeRequest(r => r.Format = ProfileFormat.Dot), cancellationToken: ct);
        Assert.Null(dot.Flamegraph);
        Assert.StartsWith("digraph ", dot.Dot);
        // The hottest function's cumulative value, as go tool pprof would print it (seconds, two decimals).
        var block = Merge(Stacks(data.A), Stacks(data.B)).Where(kv => kv.Key.Split(';').Contains("crypto/sha256.block")).Sum(kv => kv.Value);
        var seconds = (block / 1e9).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture).Replace(".00", "", StringComparison.Ordinal);
        Assert.Contains($"tooltip=\"crypto/sha256.block ({seconds}s)\"", dot.Dot);
        Assert.Contains(" -> ", dot.Dot);

        var spans = await _querier.SelectHeatmapAsync(new SelectHeatmapRequest
        {
            ProfileTypeID = CpuProfileType, LabelSelector = data.Selector, Start = data.Start, End = data.End, Step = 15,
            QueryType = HeatmapQueryType.Span, ExemplarType = ExemplarType.Span,
        }, cancellationToken: ct);
        // One point per (profile, span, trace) with a span: its samples' total.
        var expected = new Dictionary<(long, string, string), long>();
        foreach (var (profile, time) in new[] { (data.A, data.T0), (data.B, data.T0 + 30_000) })
        {
            foreach (var group in profile.Sample.Where(s => LabelOf(profile, s, "span_id").Length > 0)
                .GroupBy(s => (LabelOf(profile, s, "span_id"), LabelOf(profile, s, "trace_id"))))
            {
                var total = Total(profile, s => group.Contains(s));
                if (total > 0)
                {
                    expected[(time, group.Key.Item1, group.Key.Item2)] = total;
                }
            }
        }
        var slots = Assert.Single(spans.Series).Slots;
        Assert.Equal(expected.Count, slots.Sum(s => s.Counts.Sum()));
        var exemplars = slots.SelectMany(s => s.Exemplars).ToList();
        Assert.NotEmpty(exemplars);
        foreach (var e in exemplars)
        {
            Assert.Equal(expected[(e.Timestamp, e.SpanId, e.TraceId)], e.Value);
        }
    }

    /// <summary>
    /// Unknown ids select nothing; malformed ids and unknown enum values are invalid_argument naming the field, on
    /// Connect and on gRPC alike.
    /// </summary>
    public async Task BadInputAsync(CancellationToken ct)
    {
        var unknownTrace = await _querier.SelectMergeStacktracesAsync(MergeRequest(r => r.TraceIdSelector.Add("1234567890abcdef1234567890abcdef")), cancellationToken: ct);
        Assert.Equal(0, unknownTrace.Flamegraph?.Total ?? 0);

        (string Field, IMessage Request, string Method)[] bad =
        [
            ("profile_id_selector", MergeRequest(r => r.ProfileIdSelector.Add("not-a-uuid")), "SelectMergeStacktraces"),
            ("trace_id_selector", MergeRequest(r => r.TraceIdSelector.Add("xyz")), "SelectMergeStacktraces"),
            ("span_selector", MergeRequest(r => r.SpanSelector.Add("00f067aa0ba902b7ff")), "SelectMergeStacktraces"),
            ("format", MergeRequest(r => r.Format = (ProfileFormat)9), "SelectMergeStacktraces"),
            ("exemplar_type", new SelectSeriesRequest { ProfileTypeID = CpuProfileType, LabelSelector = data.Selector, Start = data.Start, End = data.End, Step = 15, ExemplarType = (ExemplarType)7 }, "SelectSeries"),
            ("query_type", new SelectHeatmapRequest { ProfileTypeID = CpuProfileType, LabelSelector = data.Selector, Start = data.Start, End = data.End, Step = 15, QueryType = (HeatmapQueryType)5 }, "SelectHeatmap"),
            ("profile_id_selector", new SelectMergeProfileRequest { ProfileTypeID = CpuProfileType, LabelSelector = data.Selector, Start = data.Start, End = data.End, ProfileIdSelector = { "7c9e6679" } }, "SelectMergeProfile"),
            ("right.trace_id_selector", new DiffRequest { Left = MergeRequest(_ => { }), Right = MergeRequest(r => r.TraceIdSelector.Add("0")) }, "Diff"),
        ];
        foreach (var (field, request, method) in bad)
        {
            using var content = new ByteArrayContent(request.ToByteArray());
            content.Headers.ContentType = new MediaTypeHeaderValue("application/proto");
            using var response = await http.PostAsync("/querier.v1.QuerierService/" + method, content, ct);
            var body = await response.Content.ReadAsStringAsync(ct);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{method} with a bad {field}: {(int)response.StatusCode} {body}");
            using var error = JsonDocument.Parse(body);
            Assert.Equal("invalid_argument", error.RootElement.GetProperty("code").GetString());
            Assert.Contains(field, error.RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        var grpcError = await Assert.ThrowsAsync<RpcException>(async () =>
            await _querier.SelectMergeStacktracesAsync(MergeRequest(r => r.ProfileIdSelector.Add("not-a-uuid")), cancellationToken: ct));
        Assert.Equal(StatusCode.InvalidArgument, grpcError.StatusCode);
        Assert.Contains("profile_id_selector", grpcError.Status.Detail, StringComparison.Ordinal);
    }

    /// <summary>What upstream clients ask every server about itself, on Connect, gRPC and the gateway path.</summary>
    public static async Task ServerInfoAsync(HttpClient http, GrpcChannel grpc, CancellationToken ct)
    {
        var flags = await PostProtoAsync(http, "/capabilities.v1.FeatureFlagsService/GetFeatureFlags", new GetFeatureFlagsRequest(), GetFeatureFlagsResponse.Parser, ct);
        Assert.Contains(flags.FeatureFlags, f => f.Name == "pyroscopeRuler");
        Assert.Equal(1UL, (await PostProtoAsync(http, "/version.v1.Version/Version", new VersionRequest(), VersionResponse.Parser, ct)).QuerierAPI);
        var build = await PostProtoAsync(http, "/status.v1.StatusService/GetBuildInfo", new GetBuildInfoRequest(), GetBuildInfoResponse.Parser, ct);
        Assert.Equal("success", build.Status);
        Assert.NotEmpty(build.Data.Version);

        using var gateway = JsonDocument.Parse(await http.GetStringAsync("/api/v1/status/buildinfo", ct));
        Assert.Equal("success", gateway.RootElement.GetProperty("status").GetString());
        Assert.Equal(build.Data.Version, gateway.RootElement.GetProperty("data").GetProperty("version").GetString());
        Assert.StartsWith(".NET", gateway.RootElement.GetProperty("data").GetProperty("goVersion").GetString());

        Assert.Equal(flags, await new FeatureFlagsService.FeatureFlagsServiceClient(grpc).GetFeatureFlagsAsync(new GetFeatureFlagsRequest(), cancellationToken: ct));
        Assert.Equal(1UL, (await new Contracts.Version.V1.Version.VersionClient(grpc).VersionAsync(new VersionRequest(), cancellationToken: ct)).QuerierAPI);
        Assert.Equal(build.Data.Version, (await new StatusService.StatusServiceClient(grpc).GetBuildInfoAsync(new GetBuildInfoRequest(), cancellationToken: ct)).Data.Version);
    }

    private SelectMergeStacktracesRequest MergeRequest(Action<SelectMergeStacktracesRequest> customize)
    {
        var request = new SelectMergeStacktracesRequest
        {
            ProfileTypeID = CpuProfileType, LabelSelector = data.Selector, Start = data.Start, End = data.End, MaxNodes = 1 << 20,
        };
        customize(request);
        return request;
    }

    /// <summary>Proto3 JSON writes 64-bit integers as strings.</summary>
    private static long Int64Of(JsonElement value) =>
        value.ValueKind == JsonValueKind.String ? long.Parse(value.GetString()!, System.Globalization.CultureInfo.InvariantCulture) : value.GetInt64();

    private static Dictionary<string, long> FlameStacks(FlameGraph graph) =>
        ExpectedStacks.FromFlameGraph(graph.Names, graph.Levels.Select(l => (IReadOnlyList<long>)l.Values.ToList()).ToList());

    private Task<T> ConnectAsync<T>(string method, IMessage request, MessageParser<T> parser, CancellationToken ct)
        where T : IMessage<T> => PostProtoAsync(http, "/querier.v1.QuerierService/" + method, request, parser, ct);

    private static async Task<T> PostProtoAsync<T>(HttpClient http, string path, IMessage request, MessageParser<T> parser, CancellationToken ct)
        where T : IMessage<T>
    {
        using var content = new ByteArrayContent(request.ToByteArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/proto");
        using var message = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        message.Headers.Add("Connect-Protocol-Version", "1");
        using var response = await http.SendAsync(message, ct);
        var body = await response.Content.ReadAsByteArrayAsync(ct);
        Assert.True(response.IsSuccessStatusCode, $"{path} answered {(int)response.StatusCode}: {Encoding.UTF8.GetString(body)}");
        return parser.ParseFrom(body);
    }

    private async Task<JsonElement> ConnectJsonAsync(string path, string json, CancellationToken ct)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var message = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        message.Headers.Add("Connect-Protocol-Version", "1");
        using var response = await http.SendAsync(message, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        Assert.True(response.IsSuccessStatusCode, $"{path} answered {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }
}
