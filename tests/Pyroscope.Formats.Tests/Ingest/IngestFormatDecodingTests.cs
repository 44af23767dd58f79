using System.Text;
using System.Text.Json;
using System.Web;
using Pyroscope.Formats.Ingest;
using Pyroscope.Formats.Normalization;
using Pyroscope.Model;
using static Pyroscope.Formats.Tests.Ingest.FixtureSupport;

namespace Pyroscope.Formats.Tests.Ingest;

/// <summary>Real agents' bodies of every format, decoded through the registry and normalised.</summary>
public sealed class IngestFormatDecodingTests
{
    private const long Now = 1_800_000_000_000_000_000;

    private static IngestMetadata Metadata(string query)
    {
        var parsed = HttpUtility.ParseQueryString(query);
        return IngestMetadata.Parse(name => parsed[name], Now);
    }

    private static List<Contracts.Ingester.V1.ProfileSeries> DecodeAndNormalize(string query, string? contentType, byte[] body)
    {
        var md = Metadata(query);
        var decoded = IngestFormatRegistry.BuiltIn.Decode(md, contentType, body);
        return decoded.SelectMany(d => ProfileNormalizer.Normalize(d.Profile, d.Labels, TenantLimits.Unlimited, new NormalizeContext(Now, md.FromNanos, d.DecompressedSize))).ToList();
    }

    public static TheoryData<string> NodeRequests => new() { "nodejs-001", "nodejs-002", "nodejs-003", "nodejs-004", "nodejs-005" };

    [Theory]
    [MemberData(nameof(NodeRequests))]
    public void Nodejs_requests_replayed_with_their_query_keep_totals_and_labels(string name)
    {
        using var request = JsonDocument.Parse(File.ReadAllText(PathOf($"nodejs/{name}.request.json")));
        var query = request.RootElement.GetProperty("raw_query").GetString()!;
        var contentType = request.RootElement.GetProperty("headers").GetProperty("content-type").GetString();
        var body = Read($"nodejs/{name}.pb.gz");
        var expected = DecodeIndependently(body);

        var series = DecodeAndNormalize(query, contentType, body);

        var types = expected.SampleType.Select(t => expected.StringTable[(int)t.Type]).ToArray();
        var metric = types.Contains("wall") ? "wall" : "memory";
        Assert.All(series, s =>
        {
            Assert.Equal(metric, Label(s, LabelNames.MetricName));
            Assert.Equal("probe", Label(s, LabelNames.ServiceName));
            Assert.Equal("nodespy", Label(s, LabelNames.Spy));
            Assert.Equal("false", Label(s, LabelNames.Delta));
            Assert.Equal("com.grafana.pyroscope/nodejs", Label(s, "otel.scope.name"));
            Assert.Equal("test", Label(s, "env"));
            Assert.StartsWith(metric + ":", Label(s, LabelNames.ProfileType));
        });
        Assert.Equal(TotalsByType(expected).Where(kv => kv.Value != 0).OrderBy(k => k.Key), Merge(series.Select(s => TotalsByType(s.Profile))).OrderBy(k => k.Key));
        Assert.Equal(StackTotals(expected).OrderBy(k => k.Key), Merge(series.Select(s => StackTotals(s.Profile))).OrderBy(k => k.Key));
    }

    [Fact]
    public void Folded_fixture_becomes_process_cpu_scaled_by_the_sample_rate()
    {
        var body = Read("folded/go-cpu-nanoseconds.folded");
        var expected = new Dictionary<string, long>();
        foreach (var line in File.ReadAllLines(PathOf("folded/go-cpu-nanoseconds.folded")).Where(l => l.Length > 0))
        {
            var space = line.LastIndexOf(' ');
            var key = "cpu|" + line[..space];
            expected[key] = expected.GetValueOrDefault(key) + long.Parse(line[(space + 1)..]) * (1_000_000_000 / 50);
        }

        var series = Assert.Single(DecodeAndNormalize("name=myapp.cpu{env=prod}&from=1700000000&until=1700000010&sampleRate=50&spyName=gospy", null, body));

        Assert.Equal("process_cpu:cpu:nanoseconds:cpu:nanoseconds", Label(series, LabelNames.ProfileType));
        Assert.Equal("myapp", Label(series, LabelNames.ServiceName));
        Assert.Equal("prod", Label(series, "env"));
        Assert.Equal("gospy", Label(series, LabelNames.Spy));
        Assert.Equal(1_700_000_000_000_000_000, series.Profile.TimeNanos);
        Assert.Equal(10_000_000_000, series.Profile.DurationNanos);
        Assert.Equal(expected.OrderBy(k => k.Key), StackTotals(series.Profile).OrderBy(k => k.Key));
    }

    [Fact]
    public void Lines_format_counts_each_line_once()
    {
        var body = Encoding.UTF8.GetBytes("a;b;c\na;b;c\na;d\n\n");
        var series = Assert.Single(DecodeAndNormalize("name=app.inuse_objects&format=lines", null, body));
        Assert.Equal("memory:inuse_objects:count::", Label(series, LabelNames.ProfileType));
        var stacks = StackTotals(series.Profile);
        Assert.Equal(2, stacks["inuse_objects|a;b;c"]);
        Assert.Equal(1, stacks["inuse_objects|a;d"]);
    }

    [Fact]
    public void Bad_folded_line_names_the_line_number()
    {
        var body = Encoding.UTF8.GetBytes("a;b 1\na;c 2\na;d x3\n");
        var e = Assert.Throws<ProfileFormatException>(() => DecodeAndNormalize("name=app", null, body));
        Assert.Contains("line 3", e.Message);
        Assert.Contains("x3", e.Message);
    }

    [Theory]
    [InlineData("name=", "app name is required")]
    [InlineData("name=my%20app", "invalid character ' '")]
    [InlineData("name=app{bad-key=1}", "label key \"bad-key\"")]
    [InlineData("name=app{a=1", "unterminated")]
    [InlineData("name=app.nosuchtype", "unknown profile type \"nosuchtype\"")]
    [InlineData("name=app&from=yesterday", "invalid from")]
    [InlineData("name=app&sampleRate=fast", "invalid sampleRate")]
    public void Bad_query_parameters_are_named(string query, string message)
    {
        var e = Assert.ThrowsAny<ProfileFormatException>(() => DecodeAndNormalize(query, null, "a;b 1"u8.ToArray()));
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData("1700000000", 1_700_000_000_000_000_000)]
    [InlineData("1700000000123", 1_700_000_000_123_000_000)]
    [InlineData("1700000000123456", 1_700_000_000_123_456_000)]
    [InlineData("1700000000123456789", 1_700_000_000_123_456_789)]
    [InlineData("20240102", 1_704_153_600_000_000_000)]
    [InlineData("now-1h", Now - 3_600_000_000_000)]
    [InlineData("now", Now)]
    public void From_is_parsed_by_digit_count_or_relative_to_now(string from, long expected)
    {
        Assert.Equal(expected, Metadata($"name=app&from={from}").FromNanos);
    }

    [Fact]
    public void Query_defaults_match_upstream()
    {
        var md = Metadata("name=app");
        Assert.Equal(100, md.SampleRate);
        Assert.Equal("unknown", md.SpyName);
        Assert.Equal("samples", md.Units);
        Assert.Equal("sum", md.AggregationType);
        Assert.Equal(Now, md.FromNanos);
    }

    [Fact]
    public void Speedscope_evented_profile_is_converted_with_its_time_unit()
    {
        var body = Read("upstream/og_convert_speedscope__simple.speedscope.json");
        using var doc = JsonDocument.Parse(body);
        var profile = doc.RootElement.GetProperty("profiles")[0];
        var unit = profile.GetProperty("unit").GetString();
        var frames = doc.RootElement.GetProperty("shared").GetProperty("frames").EnumerateArray().Select(f => f.GetProperty("name").GetString()!).ToArray();
        // Independent walk: time between events belongs to the open stack.
        var expected = new Dictionary<string, long>();
        var stack = new List<string>();
        double last = 0;
        foreach (var e in profile.GetProperty("events").EnumerateArray())
        {
            var at = e.GetProperty("at").GetDouble();
            if (stack.Count > 0 && at > last)
            {
                var key = string.Join(";", stack);
                expected[key] = expected.GetValueOrDefault(key) + (long)(at - last);
            }
            last = at;
            var frame = frames[e.GetProperty("frame").GetInt32()];
            if (e.GetProperty("type").GetString() == "O") { stack.Add(frame); } else { stack.RemoveAt(stack.Count - 1); }
        }
        var scale = unit switch { "milliseconds" => 1_000_000L, "microseconds" => 1_000L, "nanoseconds" => 1L, "seconds" => 1_000_000_000L, _ => 10_000_000L };

        var series = Assert.Single(DecodeAndNormalize("name=app.cpu&format=speedscope", "application/json", body));

        var actual = StackTotals(series.Profile).ToDictionary(kv => kv.Key.Split('|')[1], kv => kv.Value);
        Assert.Equal(expected.ToDictionary(kv => kv.Key, kv => kv.Value * scale).OrderBy(k => k.Key), actual.OrderBy(k => k.Key));
    }

    [Fact]
    public void Speedscope_sampled_profiles_use_weights_and_units_as_type_suffix()
    {
        var json = """
        {"shared":{"frames":[{"name":"main"},{"name":"a"},{"name":"b"}]},
         "profiles":[
          {"type":"sampled","unit":"milliseconds","samples":[[0,1],[0,2],[0,1]],"weights":[2,3,4]},
          {"type":"sampled","unit":"bytes","samples":[[0,2]],"weights":[100]}]}
        """;
        var series = DecodeAndNormalize("name=app&format=speedscope", null, Encoding.UTF8.GetBytes(json));
        var wall = Assert.Single(series, s => Label(s, LabelNames.MetricName) == "wall");
        Assert.Equal(6_000_000, StackTotals(wall.Profile)["wall|main;a"]);
        var memory = Assert.Single(series, s => Label(s, LabelNames.MetricName) == "memory");
        Assert.Equal(100, StackTotals(memory.Profile)["samples|main;b"]);
    }

    [Fact]
    public void Multipart_pprof_with_sample_type_config_uses_display_names()
    {
        var pprof = Read("upstream/og_convert_pprof__req_2.pprof");
        var config = Read("upstream/og_convert_pprof__req_2.st.json");
        var (contentType, body) = Multipart(("profile", pprof), ("sample_type_config", config));
        var expected = DecodeIndependently(pprof);

        var series = DecodeAndNormalize("name=goapp{env=dev}&spyName=gospy", contentType, body);

        Assert.NotEmpty(series);
        Assert.All(series, s => Assert.Equal("goroutines", Label(s, LabelNames.MetricName)));
        Assert.Equal(TotalsByType(expected).Where(kv => kv.Value != 0).OrderBy(k => k.Key), Merge(series.Select(s => TotalsByType(s.Profile))).OrderBy(k => k.Key));
    }

    [Fact]
    public void Multipart_with_prev_profile_is_refused_as_upstream()
    {
        var pprof = Read("go/go-cpu.pb.gz");
        var (contentType, body) = Multipart(("profile", pprof), ("prev_profile", pprof));
        var e = Assert.Throws<ProfileFormatException>(() => DecodeAndNormalize("name=goapp", contentType, body));
        Assert.Contains("prev_profile", e.Message);
    }

    [Fact]
    public void Dotnet_pprof_with_broken_function_ids_is_repaired_for_dotnetspy()
    {
        var pprof = Read("upstream/og_convert_pprof__dotnet-pprof-3.pb.gz");
        var (contentType, body) = Multipart(("profile", pprof), ("sample_type_config", Read("upstream/og_convert_pprof__dotnet-pprof-3.st.json")));
        var expected = DecodeIndependently(pprof);

        var series = DecodeAndNormalize("name=dotnetapp&spyName=dotnetspy", contentType, body);

        var expectedTotals = TotalsByType(expected).Where(kv => kv.Value != 0).ToDictionary(kv => kv.Key.Replace('-', '_'), kv => kv.Value);
        Assert.Equal(expectedTotals.OrderBy(k => k.Key), Merge(series.Select(s => TotalsByType(s.Profile))).OrderBy(k => k.Key));
        Assert.All(series, s => Assert.DoesNotContain("-", Label(s, LabelNames.ProfileType)));
    }

    [Fact]
    public void Jfr_is_converted_through_the_registry_and_unknown_formats_name_the_supported_ones()
    {
        var jfr = Read("jfr/jdk17-cpu-alloc.jfr");
        var unknown = Assert.Throws<ProfileFormatException>(() => IngestFormatRegistry.BuiltIn.Decode(Metadata("name=app&format=nettrace"), "application/octet-stream", jfr));
        Assert.Contains("unknown format \"nettrace\" (supported: pprof, jfr, trie, tree, lines, speedscope, folded)", unknown.Message);

        var md = Metadata("name=javaapp{env=prod}&format=jfr&spyName=javaspy&from=1700000000&until=1700000010");
        var decoded = IngestFormatRegistry.BuiltIn.Decode(md, "application/octet-stream", jfr);
        Assert.NotEmpty(decoded);
        Assert.All(decoded, d =>
        {
            Assert.Contains(d.Labels, l => l.Name == LabelNames.ServiceName && l.Value == "javaapp");
            Assert.Contains(d.Labels, l => l.Name == "env" && l.Value == "prod");
        });
        Assert.Contains(decoded, d => d.Labels.Any(l => l.Name == LabelNames.MetricName && l.Value == "process_cpu"));
    }

    internal static (string ContentType, byte[] Body) Multipart(params (string Name, byte[] Content)[] parts) =>
        Testing.Fuzzing.IngestBodies.Multipart(parts);
}
