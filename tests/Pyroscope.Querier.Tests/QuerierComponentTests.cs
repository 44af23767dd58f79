using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Pyroscope.Contracts.Querier.V1;
using Pyroscope.Model;
using Pyroscope.Model.Query;
using Pyroscope.Testing;
using Label = Pyroscope.Model.Label;
using Pprof = Pyroscope.Contracts.Google.V1;
using TypesV1 = Pyroscope.Contracts.Types.V1;

namespace Pyroscope.Querier.Tests;

public sealed class QuerierComponentTests : IAsyncLifetime
{
    private const string Tenant = "anonymous";
    private readonly InMemoryProfileReader _reader = new();
    private QuerierHost _host = null!;
    private ProfileTypeId _cpu = null!;
    private List<(string[] Stack, long Value)> _cpuStacks = null!;
    private long _now;

    public async ValueTask InitializeAsync()
    {
        _now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var cpu = PprofFixtures.LoadPprof("go/go-cpu.pb.gz");
        _cpu = PprofFixtures.TypesOf(cpu, "process_cpu")[1];
        Assert.Equal("process_cpu:cpu:nanoseconds:cpu:nanoseconds", _cpu.Id);
        _cpuStacks = PprofFixtures.Stacks(cpu, 1);
        _reader.Add(Tenant, LabelSet.From(new Label("service_name", "api"), new Label("pod", "1")), _cpu, _now - 600_000, _cpuStacks);
        _reader.Add(Tenant, LabelSet.From(new Label("service_name", "api"), new Label("pod", "2")), _cpu, _now - 300_000, _cpuStacks);
        var heap = PprofFixtures.LoadPprof("go/go-heap.pb.gz");
        var heapTypes = PprofFixtures.TypesOf(heap, "memory");
        for (var i = 0; i < heapTypes.Count; i++)
        {
            _reader.Add(Tenant, LabelSet.From(new Label("service_name", "worker")), heapTypes[i], _now - 120_000, PprofFixtures.Stacks(heap, i));
        }
        _reader.Add("other-tenant", LabelSet.From(new Label("service_name", "secret")), _cpu, _now - 60_000, _cpuStacks);
        _host = await QuerierHost.StartAsync(_reader);
    }

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    private long ApiTotal => 2 * _cpuStacks.Where(s => s.Value > 0).Sum(s => s.Value);

    private SelectMergeStacktracesRequest ApiRequest() => new()
    {
        ProfileTypeID = _cpu.Id,
        LabelSelector = "{service_name=\"api\"}",
        Start = _now - 3_600_000,
        End = _now,
    };

    private async Task<TResponse> PostProtoAsync<TResponse>(string method, IMessage request, MessageParser<TResponse> parser)
        where TResponse : IMessage<TResponse>
    {
        using var content = new ByteArrayContent(request.ToByteArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/proto");
        using var response = await _host.Http.PostAsync(QuerierEndpoints.ServicePath + method, content, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/proto", response.Content.Headers.ContentType?.MediaType);
        return parser.ParseFrom(await response.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));
    }

    private async Task<(HttpStatusCode Status, string Body)> PostJsonAsync(string method, string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await _host.Http.PostAsync(QuerierEndpoints.ServicePath + method, content, TestContext.Current.CancellationToken);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    private async Task<TResponse> PostJsonAsync<TResponse>(string method, IMessage request, MessageParser<TResponse> parser)
        where TResponse : IMessage<TResponse>
    {
        var (status, body) = await PostJsonAsync(method, JsonFormatter.Default.Format(request));
        Assert.True(status == HttpStatusCode.OK, body);
        return parser.ParseJson(body);
    }

    [Fact]
    public async Task Flame_graph_is_the_same_over_connect_json_connect_proto_and_grpc()
    {
        var request = ApiRequest();
        var proto = await PostProtoAsync("SelectMergeStacktraces", request, SelectMergeStacktracesResponse.Parser);
        var json = await PostJsonAsync("SelectMergeStacktraces", request, SelectMergeStacktracesResponse.Parser);
        using var channel = GrpcChannel.ForAddress(_host.GrpcAddress);
        var grpc = await new QuerierService.QuerierServiceClient(channel).SelectMergeStacktracesAsync(request, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(ApiTotal, proto.Flamegraph.Total);
        Assert.Equal("total", proto.Flamegraph.Names[0]);
        Assert.Equal(proto, json);
        Assert.Equal(proto, grpc);
        // The other tenant's profile is not visible.
        Assert.Equal(ApiTotal, proto.Flamegraph.Levels[0].Values[1]);
    }

    [Fact]
    public async Task Handwritten_grafana_style_json_is_accepted()
    {
        var json = $$"""{"profileTypeID":"{{_cpu.Id}}","labelSelector":"{service_name=\"api\", pod=~\"1|3\"}","start":"{{_now - 3_600_000}}","end":{{_now}},"maxNodes":"16","unknownField":1}""";
        var (status, body) = await PostJsonAsync("SelectMergeStacktraces", json);
        Assert.Equal(HttpStatusCode.OK, status);
        var response = SelectMergeStacktracesResponse.Parser.ParseJson(body);
        Assert.Equal(ApiTotal / 2, response.Flamegraph.Total);
        Assert.Contains("other", response.Flamegraph.Names);
    }

    [Fact]
    public async Task Tree_format_round_trips_to_the_same_stacks()
    {
        var request = ApiRequest();
        request.Format = ProfileFormat.Tree;
        request.MaxNodes = 1_000_000;
        var response = await PostProtoAsync("SelectMergeStacktraces", request, SelectMergeStacktracesResponse.Parser);
        var tree = TreeExports.FromTreeBytes(response.Tree.Span);
        var expected = PprofFixtures.Folded(_cpuStacks.Concat(_cpuStacks));
        var actual = StackExports.ToCollapsed(tree).TrimEnd('\n').Split('\n')
            .Select(l => (Key: l[..l.LastIndexOf(' ')], Value: long.Parse(l[(l.LastIndexOf(' ') + 1)..])));
        Assert.Equal(expected.OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => (k.Key, k.Value)), actual.OrderBy(k => k.Key, StringComparer.Ordinal));
    }

    [Fact]
    public async Task Merged_pprof_decodes_to_the_input_stacks()
    {
        var request = new SelectMergeProfileRequest { ProfileTypeID = _cpu.Id, LabelSelector = "{pod=\"1\"}", Start = _now - 3_600_000, End = _now };
        var profile = await PostProtoAsync("SelectMergeProfile", request, Pprof.Profile.Parser);
        Assert.Equal("cpu", profile.StringTable[(int)profile.SampleType[0].Type]);
        Assert.Equal(PprofFixtures.Folded(_cpuStacks).OrderBy(k => k.Key, StringComparer.Ordinal),
            PprofFixtures.Folded(PprofFixtures.Stacks(profile, 0)).OrderBy(k => k.Key, StringComparer.Ordinal));
    }

    [Fact]
    public async Task Select_series_groups_by_label()
    {
        var request = new SelectSeriesRequest
        {
            ProfileTypeID = _cpu.Id,
            LabelSelector = "{}",
            Start = _now - 3_600_000,
            End = _now,
            Step = 60,
            GroupBy = { "pod" },
        };
        var json = await PostJsonAsync("SelectSeries", request, SelectSeriesResponse.Parser);
        var proto = await PostProtoAsync("SelectSeries", request, SelectSeriesResponse.Parser);
        Assert.Equal(proto, json);
        Assert.Equal(["1", "2"], proto.Series.Select(s => s.Labels.Single(l => l.Name == "pod").Value));
        foreach (var s in proto.Series)
        {
            Assert.Equal(ApiTotal / 2, s.Points.Sum(p => p.Value));
        }
    }

    [Fact]
    public async Task Metadata_calls_list_types_labels_and_series()
    {
        var range = (Start: _now - 3_600_000, End: _now);
        var types = await PostJsonAsync("ProfileTypes", new ProfileTypesRequest { Start = range.Start, End = range.End }, ProfileTypesResponse.Parser);
        Assert.Equal(5, types.ProfileTypes.Count);
        Assert.Contains(types.ProfileTypes, t => t.ID == _cpu.Id && t.SampleType == "cpu" && t.Name == "process_cpu");

        var names = await PostJsonAsync("LabelNames", new TypesV1.LabelNamesRequest { Start = range.Start, End = range.End, Matchers = { "{service_name=\"api\"}" } }, TypesV1.LabelNamesResponse.Parser);
        Assert.Contains("pod", names.Names);
        Assert.Contains("service_name", names.Names);

        var values = await PostProtoAsync("LabelValues", new TypesV1.LabelValuesRequest { Name = "service_name", Start = range.Start, End = range.End }, TypesV1.LabelValuesResponse.Parser);
        Assert.Equal(["api", "worker"], values.Names);

        var series = await PostJsonAsync("Series", new SeriesRequest { Start = range.Start, End = range.End, Matchers = { $"{{__profile_type__=\"{_cpu.Id}\"}}" }, LabelNames = { "service_name", "pod" } }, SeriesResponse.Parser);
        Assert.Equal(2, series.LabelsSet.Count);
        Assert.All(series.LabelsSet, s => Assert.Equal(2, s.Labels_.Count));

        var stats = await PostJsonAsync("GetProfileStats", new TypesV1.GetProfileStatsRequest(), TypesV1.GetProfileStatsResponse.Parser);
        Assert.True(stats.DataIngested);
        Assert.Equal(_now - 600_000, stats.OldestProfileTime);
    }

    [Fact]
    public async Task Diff_reports_both_sides()
    {
        var left = ApiRequest();
        left.LabelSelector = "{pod=\"1\"}";
        var right = ApiRequest();
        var diff = await PostProtoAsync("Diff", new DiffRequest { Left = left, Right = right }, DiffResponse.Parser);
        Assert.Equal(ApiTotal / 2, diff.Flamegraph.LeftTicks);
        Assert.Equal(ApiTotal, diff.Flamegraph.RightTicks);
        Assert.Equal(0, diff.Flamegraph.Levels[1].Values.Count % 7);
    }

    [Theory]
    [InlineData("{service_name=\"api\"", "position")]
    [InlineData("{service_name=~\"(\"}", "invalid regular expression")]
    public async Task Bad_selectors_are_invalid_argument(string selector, string message)
    {
        var request = ApiRequest();
        request.LabelSelector = selector;
        var (status, body) = await PostJsonAsync("SelectMergeStacktraces", JsonFormatter.Default.Format(request));
        AssertError(status, body, HttpStatusCode.BadRequest, "invalid_argument", message);
    }

    [Fact]
    public async Task Bad_ranges_and_types_are_invalid_argument()
    {
        var reversed = ApiRequest();
        (reversed.Start, reversed.End) = (reversed.End, reversed.Start);
        var (status, body) = await PostJsonAsync("SelectMergeStacktraces", JsonFormatter.Default.Format(reversed));
        AssertError(status, body, HttpStatusCode.BadRequest, "invalid_argument", "start");

        var tooLong = ApiRequest();
        tooLong.Start = _now - 3 * 86_400_000L;
        (status, body) = await PostJsonAsync("SelectMergeStacktraces", JsonFormatter.Default.Format(tooLong));
        AssertError(status, body, HttpStatusCode.BadRequest, "invalid_argument", "max_query_length");

        var badType = ApiRequest();
        badType.ProfileTypeID = "cpu";
        (status, body) = await PostJsonAsync("SelectMergeStacktraces", JsonFormatter.Default.Format(badType));
        AssertError(status, body, HttpStatusCode.BadRequest, "invalid_argument", "profile type");

        using var channel = GrpcChannel.ForAddress(_host.GrpcAddress);
        var e = await Assert.ThrowsAsync<RpcException>(async () =>
            await new QuerierService.QuerierServiceClient(channel).SelectMergeStacktracesAsync(badType, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
    }

    [Fact]
    public async Task Responses_are_gzipped_when_accepted()
    {
        using var content = new ByteArrayContent(ApiRequest().ToByteArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/proto");
        using var request = new HttpRequestMessage(HttpMethod.Post, QuerierEndpoints.ServicePath + "SelectMergeStacktraces") { Content = content };
        request.Headers.AcceptEncoding.ParseAdd("gzip");
        using var response = await _host.Http.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("gzip", response.Content.Headers.ContentEncoding);
        await using var gz = new System.IO.Compression.GZipStream(await response.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken), System.IO.Compression.CompressionMode.Decompress);
        var decoded = SelectMergeStacktracesResponse.Parser.ParseFrom(gz);
        Assert.Equal(ApiTotal, decoded.Flamegraph.Total);
    }

    [Fact]
    public async Task Legacy_render_returns_flamebearer_with_timeline()
    {
        var query = Uri.EscapeDataString(_cpu.Id + "{service_name=\"api\"}");
        using var response = await _host.Http.GetAsync($"/pyroscope/render?query={query}&from=now-1h&until=now&maxNodes=64", TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, body);
        using var doc = JsonDocument.Parse(body);
        var fb = doc.RootElement.GetProperty("flamebearer");
        Assert.Equal(ApiTotal, fb.GetProperty("numTicks").GetInt64());
        Assert.Equal("total", fb.GetProperty("names")[0].GetString());
        var timeline = doc.RootElement.GetProperty("timeline");
        Assert.Equal(15, timeline.GetProperty("durationDelta").GetInt64());
        Assert.Equal(ApiTotal, timeline.GetProperty("samples").EnumerateArray().Sum(v => v.GetInt64()));
        Assert.Equal("samples", doc.RootElement.GetProperty("metadata").GetProperty("units").GetString());
    }

    [Fact]
    public async Task Legacy_render_exports_pprof_and_collapsed()
    {
        var query = Uri.EscapeDataString(_cpu.Id + "{pod=\"2\"}");
        var bytes = await _host.Http.GetByteArrayAsync($"/pyroscope/render?query={query}&from={(_now - 3_600_000) / 1000}&until={_now}&format=pprof", TestContext.Current.CancellationToken);
        var profile = Pprof.Profile.Parser.ParseFrom(bytes);
        Assert.Equal(PprofFixtures.Folded(_cpuStacks).Values.Sum(), PprofFixtures.Stacks(profile, 0).Sum(s => s.Value));

        var text = await _host.Http.GetStringAsync($"/pyroscope/render?query={query}&format=collapsed", TestContext.Current.CancellationToken);
        Assert.Equal(PprofFixtures.Folded(_cpuStacks).Count, text.TrimEnd('\n').Split('\n').Length);
    }

    [Theory]
    [InlineData("/pyroscope/render", "'query' is required")]
    [InlineData("/pyroscope/render?query=%7Bservice_name%3D%22api%22%7D", "profile-type")]
    [InlineData("/pyroscope/render?query=process_cpu:cpu:nanoseconds:cpu:nanoseconds%7B&from=now-1h", "position")]
    [InlineData("/pyroscope/render?query=process_cpu:cpu:nanoseconds:cpu:nanoseconds%7B%7D&from=yesterday", "invalid from")]
    [InlineData("/pyroscope/render?query=process_cpu:cpu:nanoseconds:cpu:nanoseconds%7B%7D&from=now&until=now-1h", "start")]
    [InlineData("/pyroscope/render?query=process_cpu:cpu:nanoseconds:cpu:nanoseconds%7B%7D&from=now-30d", "max_query_length")]
    [InlineData("/pyroscope/render?query=process_cpu:cpu:nanoseconds:cpu:nanoseconds%7B%7D&format=svg", "unsupported format")]
    [InlineData("/pyroscope/render?query=process_cpu:cpu:nanoseconds:cpu:nanoseconds%7B%7D&maxNodes=abc", "maxNodes")]
    [InlineData("/pyroscope/label-values", "label parameter is required")]
    [InlineData("/pyroscope/render-diff?leftQuery=process_cpu:cpu:nanoseconds:cpu:nanoseconds%7B%7D&rightQuery=memory:alloc_space:bytes:space:bytes%7B%7D", "same profile type")]
    public async Task Legacy_bad_requests_are_400(string url, string message)
    {
        using var response = await _host.Http.GetAsync(url, TestContext.Current.CancellationToken);
        AssertError(response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), HttpStatusCode.BadRequest, "invalid_argument", message);
    }

    [Fact]
    public async Task Legacy_label_endpoints_and_diff()
    {
        var names = JsonSerializer.Deserialize<string[]>(await _host.Http.GetStringAsync("/pyroscope/label-values?label=__name__", TestContext.Current.CancellationToken))!;
        Assert.Contains(_cpu.Id, names);
        Assert.Contains("memory:inuse_space:bytes:space:bytes", names);

        var services = JsonSerializer.Deserialize<string[]>(await _host.Http.GetStringAsync("/pyroscope/label-values?label=service_name", TestContext.Current.CancellationToken))!;
        Assert.Equal(["api", "worker"], services);

        var labels = JsonSerializer.Deserialize<string[]>(await _host.Http.GetStringAsync("/pyroscope/labels", TestContext.Current.CancellationToken))!;
        Assert.Contains("pod", labels);
        Assert.DoesNotContain(labels, l => l.StartsWith("__", StringComparison.Ordinal));

        var q = Uri.EscapeDataString(_cpu.Id + "{pod=\"1\"}");
        var r = Uri.EscapeDataString(_cpu.Id + "{}");
        using var doc = JsonDocument.Parse(await _host.Http.GetStringAsync($"/pyroscope/render-diff?leftQuery={q}&rightQuery={r}&leftFrom=now-1h&leftUntil=now&rightFrom=now-1h&rightUntil=now", TestContext.Current.CancellationToken));
        Assert.Equal(ApiTotal / 2, doc.RootElement.GetProperty("leftTicks").GetInt64());
        Assert.Equal(ApiTotal, doc.RootElement.GetProperty("rightTicks").GetInt64());
        Assert.Equal("double", doc.RootElement.GetProperty("metadata").GetProperty("format").GetString());
    }

    [Fact]
    public async Task Multitenancy_requires_and_isolates_the_tenant()
    {
        await using var host = await QuerierHost.StartAsync(_reader, new Dictionary<string, string?> { ["multitenancy_enabled"] = "true" });
        using var anonymous = new StringContent(JsonFormatter.Default.Format(ApiRequest()), Encoding.UTF8, "application/json");
        using var missing = await host.Http.PostAsync(QuerierEndpoints.ServicePath + "SelectMergeStacktraces", anonymous, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);

        var request = ApiRequest();
        request.LabelSelector = "{}";
        using var message = new HttpRequestMessage(HttpMethod.Post, QuerierEndpoints.ServicePath + "SelectMergeStacktraces")
        {
            Content = new StringContent(JsonFormatter.Default.Format(request), Encoding.UTF8, "application/json"),
        };
        message.Headers.Add("X-Scope-OrgID", "other-tenant");
        using var response = await host.Http.SendAsync(message, TestContext.Current.CancellationToken);
        var graph = SelectMergeStacktracesResponse.Parser.ParseJson(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal(ApiTotal / 2, graph.Flamegraph.Total);
    }

    private static void AssertError(HttpStatusCode status, string body, HttpStatusCode expectedStatus, string code, string messagePart)
    {
        Assert.True(status == expectedStatus, $"{status}: {body}");
        using var doc = JsonDocument.Parse(body);
        Assert.Equal(code, doc.RootElement.GetProperty("code").GetString());
        Assert.Contains(messagePart, doc.RootElement.GetProperty("message").GetString());
    }
}
