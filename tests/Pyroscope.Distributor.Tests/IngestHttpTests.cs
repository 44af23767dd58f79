using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Pyroscope.Model;
using static Pyroscope.Distributor.Tests.Fixtures;

namespace Pyroscope.Distributor.Tests;

public sealed class IngestHttpTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<(HttpStatusCode Status, string Code, string Message)> ErrorOf(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(text);
        return (response.StatusCode, json.RootElement.GetProperty("code").GetString()!, json.RootElement.GetProperty("message").GetString()!);
    }

    public static TheoryData<string> NodeRequests => new() { "nodejs-001", "nodejs-002", "nodejs-003", "nodejs-004", "nodejs-005" };

    [Theory]
    [MemberData(nameof(NodeRequests))]
    public async Task Nodejs_agent_requests_replayed_verbatim_are_stored_for_their_tenant(string name)
    {
        var config = DistributorHost.DefaultConfig();
        config["multitenancy_enabled"] = "true";
        await using var host = await DistributorHost.StartAsync(config);
        using var recorded = JsonDocument.Parse(File.ReadAllText(PathOf($"nodejs/{name}.request.json")));
        var root = recorded.RootElement;
        var body = Read($"nodejs/{name}.pb.gz");
        using var request = new HttpRequestMessage(HttpMethod.Post, root.GetProperty("path").GetString() + "?" + root.GetProperty("raw_query").GetString())
        {
            Content = new ByteArrayContent(body),
        };
        foreach (var header in root.GetProperty("headers").EnumerateObject())
        {
            if (header.Name.Equals("content-type", StringComparison.OrdinalIgnoreCase))
            {
                request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(header.Value.GetString()!);
            }
            else
            {
                request.Headers.TryAddWithoutValidation(header.Name, header.Value.GetString());
            }
        }

        using var response = await host.Client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("", await response.Content.ReadAsStringAsync(Ct));
        var push = Assert.Single(host.Ingester.Pushes);
        Assert.Equal(root.GetProperty("headers").GetProperty("X-Scope-OrgID").GetString(), push.Tenant);
        Assert.Equal(Totals(Decode(body)).OrderBy(k => k.Key), Totals(push.Request.Series).OrderBy(k => k.Key));
        Assert.All(push.Request.Series, s =>
        {
            Assert.Equal("probe", Label(s, LabelNames.ServiceName));
            Assert.Equal(LabelSet.From(s.Labels.Select(l => new Label(l.Name, l.Value))).Fingerprint, s.Fingerprint);
        });
    }

    [Fact]
    public async Task Folded_body_on_pyroscope_ingest_is_stored_as_process_cpu()
    {
        await using var host = await DistributorHost.StartAsync();
        var body = Read("folded/go-cpu-nanoseconds.folded");
        var expected = File.ReadAllLines(PathOf("folded/go-cpu-nanoseconds.folded")).Where(l => l.Length > 0).Sum(l => long.Parse(l[(l.LastIndexOf(' ') + 1)..])) * 10_000_000;

        using var response = await host.Client.PostAsync("/pyroscope/ingest?name=folded.app.cpu{team=x}&from=1700000000&until=1700000010", new ByteArrayContent(body), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var series = Assert.Single(host.Ingester.AllSeries());
        Assert.Equal("folded.app", Label(series, LabelNames.ServiceName));
        Assert.Equal("x", Label(series, "team"));
        Assert.Equal("process_cpu:cpu:nanoseconds:cpu:nanoseconds", Label(series, LabelNames.ProfileType));
        Assert.Equal(expected, Totals(series.Profile)["cpu"]);
    }

    [Fact]
    public async Task Multipart_pprof_form_from_go_sdk_is_accepted()
    {
        await using var host = await DistributorHost.StartAsync();
        var pprof = Read("go/go-cpu.pb.gz");
        using var form = new MultipartFormDataContent();
        form.Add(new ByteArrayContent(pprof), "profile", "profile.pprof");
        form.Add(new ByteArrayContent("""{"cpu":{"units":"nanoseconds"}}"""u8.ToArray()), "sample_type_config", "sample_type_config.json");

        using var response = await host.Client.PostAsync("/ingest?name=goapp{env=prod}&spyName=gospy", form, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var series = host.Ingester.AllSeries();
        Assert.Equal(Totals(Decode(pprof)).OrderBy(k => k.Key), Totals(series).OrderBy(k => k.Key));
        Assert.All(series, s => Assert.Equal("process_cpu", Label(s, LabelNames.MetricName)));
    }

    [Fact]
    public async Task Bad_name_is_a_400_naming_the_problem()
    {
        await using var host = await DistributorHost.StartAsync();
        using var response = await host.Client.PostAsync("/ingest?name=bad%20app", new ByteArrayContent("a;b 1"u8.ToArray()), Ct);
        var (status, code, message) = await ErrorOf(response);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("invalid_argument", code);
        Assert.Contains("invalid name", message);
        Assert.Empty(host.Ingester.Pushes);
    }

    [Fact]
    public async Task Bad_folded_line_and_truncated_pprof_are_400s()
    {
        await using var host = await DistributorHost.StartAsync();
        using var folded = await host.Client.PostAsync("/ingest?name=app", new ByteArrayContent("a;b 1\nbroken\n"u8.ToArray()), Ct);
        var error = await ErrorOf(folded);
        Assert.Equal(HttpStatusCode.BadRequest, error.Status);
        Assert.Contains("line 2", error.Message);

        var plain = Google.Protobuf.MessageExtensions.ToByteArray(Decode(Read("go/go-cpu.pb.gz")));
        using var truncated = await host.Client.PostAsync("/ingest?name=app&format=pprof", new ByteArrayContent(plain[..(plain.Length / 2)]), Ct);
        error = await ErrorOf(truncated);
        Assert.Equal(HttpStatusCode.BadRequest, error.Status);
        Assert.Contains("not a valid pprof", error.Message);
    }

    [Fact]
    public async Task Missing_tenant_with_multitenancy_is_401_no_org_id()
    {
        var config = DistributorHost.DefaultConfig();
        config["multitenancy_enabled"] = "true";
        await using var host = await DistributorHost.StartAsync(config);
        using var response = await host.Client.PostAsync("/ingest?name=app", new ByteArrayContent("a;b 1"u8.ToArray()), Ct);
        var (status, code, message) = await ErrorOf(response);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("unauthenticated", code);
        Assert.Equal("no org id", message);

        using var bad = new HttpRequestMessage(HttpMethod.Post, "/ingest?name=app") { Content = new ByteArrayContent("a;b 1"u8.ToArray()) };
        bad.Headers.Add("X-Scope-OrgID", "../etc");
        using var badResponse = await host.Client.SendAsync(bad, Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, badResponse.StatusCode);
        Assert.Contains("unsupported character '/'", (await ErrorOf(badResponse)).Message);
    }

    [Fact]
    public async Task Without_multitenancy_everything_is_anonymous()
    {
        await using var host = await DistributorHost.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/ingest?name=app") { Content = new ByteArrayContent("a;b 1"u8.ToArray()) };
        request.Headers.Add("X-Scope-OrgID", "someone");
        using var response = await host.Client.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("anonymous", Assert.Single(host.Ingester.Pushes).Tenant);
    }

    [Fact]
    public async Task Body_over_the_tenant_limit_is_413()
    {
        var config = DistributorHost.DefaultConfig();
        config["overrides:small:ingestion_body_limit_mb"] = "0.001";
        config["multitenancy_enabled"] = "true";
        await using var host = await DistributorHost.StartAsync(config);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/ingest?name=app") { Content = new ByteArrayContent(new byte[4096]) };
        request.Headers.Add("X-Scope-OrgID", "small");
        using var response = await host.Client.SendAsync(request, Ct);
        var (status, code, message) = await ErrorOf(response);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal("resource_exhausted", code);
        Assert.Contains("ingestion_body_limit_mb", message);
    }

    [Fact]
    public async Task Bodies_above_kestrels_default_cap_are_read_up_to_the_tenant_limit()
    {
        // Without a profile size limit only the body limit (256 MB) applies, so the whole body reaches the parser.
        var config = DistributorHost.DefaultConfig();
        config["limits:max_profile_size_bytes"] = "0";
        await using var host = await DistributorHost.StartAsync(config);
        var body = new byte[31 * 1024 * 1024];
        Array.Fill(body, (byte)0xff);
        using var response = await host.Client.PostAsync("/ingest?name=app&format=pprof", new ByteArrayContent(body), Ct);
        var (status, _, message) = await ErrorOf(response);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("not a valid pprof", message);
    }

    [Fact]
    public async Task Gzip_bomb_is_refused_without_exhausting_memory()
    {
        await using var host = await DistributorHost.StartAsync();
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            var zeros = new byte[1 << 20];
            for (var i = 0; i < 512; i++)
            {
                gzip.Write(zeros);
            }
        }
        using var response = await host.Client.PostAsync("/ingest?name=app&format=pprof", new ByteArrayContent(compressed.ToArray()), Ct);
        var (status, _, message) = await ErrorOf(response);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Contains("limit of 4194304 bytes", message);
    }

    [Fact]
    public async Task Rate_limit_is_429_naming_the_limit()
    {
        var config = DistributorHost.DefaultConfig();
        config["limits:ingestion_rate_mb"] = "0.01";
        config["limits:ingestion_burst_size_mb"] = "0.01";
        await using var host = await DistributorHost.StartAsync(config);
        using var response = await host.Client.PostAsync("/ingest?name=app&format=pprof", new ByteArrayContent(Read("go/go-cpu.pb.gz")), Ct);
        var (status, code, message) = await ErrorOf(response);
        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        Assert.Equal("resource_exhausted", code);
        Assert.Contains("push rate limit", message);
        Assert.Contains("ingestion_rate_mb", message);
    }

    [Fact]
    public async Task Too_many_labels_is_400_and_counted_by_reason_and_tenant()
    {
        await using var host = await DistributorHost.StartAsync();
        using var discarded = new DiscardedSamplesRecorder();
        var labels = string.Join(",", Enumerable.Range(0, 35).Select(i => $"l{i}=v"));

        using var response = await host.Client.PostAsync($"/ingest?name=app{{{labels}}}", new ByteArrayContent("a;b 1"u8.ToArray()), Ct);

        var (status, _, message) = await ErrorOf(response);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("limit 30", message);
        Assert.Contains("max_label_names_per_series", message);
        Assert.Contains(discarded.Increments, d => d is { Reason: "max_label_names_per_series", Tenant: "anonymous", Value: 1 });
    }

    [Fact]
    public async Task Old_profiles_are_refused_by_the_default_ingestion_window()
    {
        await using var host = await DistributorHost.StartAsync(new Dictionary<string, string?>());
        using var response = await host.Client.PostAsync("/ingest?name=app&format=pprof", new ByteArrayContent(Read("upstream/og_convert_pprof__heap.pb.gz")), Ct);
        var (status, _, message) = await ErrorOf(response);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("outside of ingestion window", message);
    }

    [Fact]
    public async Task Acknowledges_only_after_the_ingester_has_stored_the_push()
    {
        await using var host = await DistributorHost.StartAsync();
        host.Ingester.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var pending = host.Client.PostAsync("/ingest?name=app", new ByteArrayContent("a;b 1"u8.ToArray()), Ct);
        while (Volatile.Read(ref host.Ingester.Calls) == 0)
        {
            await Task.Yield();
            await Task.Delay(1, Ct); // polling for the push call, not waiting for time to pass
        }
        Assert.False(pending.IsCompleted);
        host.Ingester.Gate.SetResult();
        using var response = await pending;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(host.Ingester.Pushes);
    }

    [Fact]
    public async Task Ingester_failure_is_503_not_success()
    {
        await using var host = await DistributorHost.StartAsync();
        host.Ingester.FailWith = new IOException("disk full");
        using var response = await host.Client.PostAsync("/ingest?name=app", new ByteArrayContent("a;b 1"u8.ToArray()), Ct);
        var (status, code, message) = await ErrorOf(response);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("unavailable", code);
        Assert.Contains("disk full", message);
    }

    [Fact]
    public async Task A_push_too_large_for_the_ingesters_gRPC_limit_is_413_naming_the_flag_not_a_retryable_status()
    {
        await using var host = await DistributorHost.StartAsync();
        const string refusal = "the push is larger than ingester ingester-0 (127.0.0.1:9095) takes in one gRPC message: Received message exceeds the maximum configured message size. Raise -server.grpc-max-recv-msg-size-bytes on the ingesters";
        host.Ingester.FailWith = new PushTooLargeForIngesterException(refusal);
        using var response = await host.Client.PostAsync("/ingest?name=app", new ByteArrayContent("a;b 1"u8.ToArray()), Ct);
        var (status, code, message) = await ErrorOf(response);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal("resource_exhausted", code);
        Assert.Equal(refusal, message);
    }

    [Fact]
    public async Task Jfr_body_is_stored_as_several_profile_types()
    {
        await using var host = await DistributorHost.StartAsync();
        using var response = await host.Client.PostAsync("/ingest?name=javaapp&format=jfr&spyName=javaspy&from=1700000000&until=1700000010",
            new ByteArrayContent(Read("jfr/jdk17-cpu-alloc.jfr")), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var types = host.Ingester.AllSeries().Select(s => Label(s, LabelNames.ProfileType)).Distinct().ToList();
        Assert.Contains(types, t => t!.StartsWith("process_cpu:", StringComparison.Ordinal));
        Assert.Contains(types, t => t!.StartsWith("memory:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Garbage_nettrace_is_a_400_naming_the_format()
    {
        await using var host = await DistributorHost.StartAsync();
        using var response = await host.Client.PostAsync("/ingest?name=app&format=nettrace", new ByteArrayContent(new byte[16]), Ct);
        var (status, _, message) = await ErrorOf(response);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith("nettrace: ", message);
    }
}
