using System.Net;
using System.Net.Http.Headers;
using Pyroscope.Testing;

namespace Pyroscope.IntegrationTests;

/// <summary>
/// Every real profile from ../shared/fixtures goes in through the protocol its profiler uses and comes out of
/// the query API with the same value for every stack, for every sample type.
/// </summary>
public class RoundTripTests(MonolithFixture monolith) : IClassFixture<MonolithFixture>
{
    public static TheoryData<string> PprofFixtures => new()
    {
        "go/go-cpu.pb.gz",
        "go/go-heap.pb.gz",
        "go/go-goroutine.pb.gz",
        "datadog/ddpprof-wall-cpu.pb.gz",
        "datadog/ddpprof-heap.pb",
        "upstream/og_convert_pprof__cpu.pb.gz",
        "upstream/og_convert_pprof__heap.pb.gz",
        "upstream/og_convert_pprof__nodejs-wall.pb.gz",
        "upstream/og_convert_pprof__nodejs-heap.pb.gz",
        "upstream/og_convert_pprof__pyspy-1.pb.gz",
        "upstream/pprof__go.cpu.labels.pprof",
        "upstream/pprof__profile_java",
        "upstream/pprof__profile_python",
        "upstream/pprof__profile_ruby",
    };

    private HttpClient Http => monolith.Server.Http;

    [Theory]
    [MemberData(nameof(PprofFixtures))]
    public async Task Pprof_pushed_to_ingest_comes_back_with_equal_totals_per_stack_and_type(string fixture)
    {
        var ct = TestContext.Current.CancellationToken;
        var bytes = await File.ReadAllBytesAsync(RepositoryPaths.Fixture(fixture), ct);
        var profile = ExpectedStacks.ParsePprof(bytes);
        var service = "rt-" + Path.GetFileName(fixture).Replace('.', '-').Replace('_', '-');

        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        var response = await Http.PostAsync($"/ingest?name={service}&format=pprof&spyName=gospy", content, ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"ingest answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}");

        await AssertStoredEqualsInputAsync(profile, service, ct);
    }

    [Theory]
    [InlineData("go/go-cpu.pb.gz")]
    [InlineData("go/go-heap.pb.gz")]
    public async Task Pprof_in_a_multipart_form_as_the_go_sdk_sends_it(string fixture)
    {
        var ct = TestContext.Current.CancellationToken;
        var bytes = await File.ReadAllBytesAsync(RepositoryPaths.Fixture(fixture), ct);
        var service = "form-" + Path.GetFileName(fixture).Replace('.', '-');
        using var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(bytes);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(file, "profile", "profile.pprof");
        var response = await Http.PostAsync($"/ingest?name={service}{{env=test}}&spyName=gospy", form, ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"ingest answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}");

        await AssertStoredEqualsInputAsync(ExpectedStacks.ParsePprof(bytes), service, ct);
    }

    [Fact]
    public async Task Dotnet_pprof_with_its_sample_type_config_keeps_every_types_total()
    {
        var ct = TestContext.Current.CancellationToken;
        var bytes = await File.ReadAllBytesAsync(RepositoryPaths.Fixture("upstream/og_convert_pprof__dotnet-pprof-3.pb.gz"), ct);
        var config = await File.ReadAllTextAsync(RepositoryPaths.Fixture("upstream/og_convert_pprof__dotnet-pprof-3.st.json"), ct);
        const string service = "dotnet-st";
        using var form = new MultipartFormDataContent
        {
            { new ByteArrayContent(bytes), "profile", "profile.pprof" },
            { new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes(config)), "sample_type_config", "sample_type_config.json" },
        };
        var response = await Http.PostAsync($"/ingest?name={service}&spyName=dotnetspy", form, ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"ingest answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}");

        var profile = ExpectedStacks.ParsePprof(bytes);
        var displayNames = System.Text.Json.JsonDocument.Parse(config).RootElement;
        var timeMs = profile.TimeNanos > 0 ? profile.TimeNanos / 1_000_000 : DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var types = await Query.ProfileTypesAsync(Http, service, timeMs - 3_600_000, timeMs + 3_600_000, ct);
        var compared = 0;
        for (var i = 0; i < profile.SampleType.Count; i++)
        {
            var inputTotal = profile.Sample.Sum(s => s.Value[i]);
            var name = profile.StringTable[(int)profile.SampleType[i].Type];
            if (inputTotal == 0)
            {
                continue; // all-zero types are dropped, as upstream
            }
            var display = displayNames.TryGetProperty(name, out var entry) && entry.TryGetProperty("display-name", out var d) ? d.GetString() : name;
            var type = types.SingleOrDefault(t => t.SampleType == display);
            Assert.True(type is not null, $"no stored type for {name} as {display}; stored: {string.Join(", ", types.Select(t => t.ID))}");
            var stacks = await Query.MergedStacksAsync(Http, type.ID, $"{{service_name=\"{service}\"}}", timeMs - 3_600_000, timeMs + 3_600_000, ct);
            Assert.Equal(inputTotal, stacks.Values.Sum());
            compared++;
        }
        Assert.True(compared >= 1, $"compared {compared} types");
    }

    [Fact]
    public async Task Folded_stacks_come_back_unchanged()
    {
        var ct = TestContext.Current.CancellationToken;
        var text = await File.ReadAllTextAsync(RepositoryPaths.Fixture("folded/go-cpu-nanoseconds.folded"), ct);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        const string service = "folded-go-cpu";
        var response = await Http.PostAsync($"/ingest?name={service}.cpu&from={now - 10}&until={now}&units=nanoseconds&sampleRate=100&spyName=gospy",
            new StringContent(text), ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync(ct));

        var expected = ExpectedStacks.FromFolded(text);
        var startMs = (now - 3600) * 1000;
        var endMs = (now + 60) * 1000;
        var types = await Query.ProfileTypesAsync(Http, service, startMs, endMs, ct);
        var type = Assert.Single(types);
        var actual = await Query.MergedStacksAsync(Http, type.ID, $"{{service_name=\"{service}\"}}", startMs, endMs, ct);
        // Legacy folded input is scaled like upstream: a sample at sampleRate=100 is 10 ms of CPU.
        var scale = actual.Values.Sum() / (double)expected.Values.Sum();
        Assert.Equal(expected.Keys.OrderBy(k => k), actual.Keys.OrderBy(k => k));
        foreach (var (stack, value) in expected)
        {
            Assert.Equal(value * scale, actual[stack], 3);
        }
    }

    [Theory]
    [InlineData("trie")]
    [InlineData("tree")]
    public async Task Legacy_trie_and_tree_bodies_come_back_as_the_folded_stacks(string format)
    {
        var ct = TestContext.Current.CancellationToken;
        var text = await File.ReadAllTextAsync(RepositoryPaths.Fixture("folded/go-cpu-nanoseconds.folded"), ct);
        var expected = ExpectedStacks.FromFolded(text);
        var body = format == "trie" ? LegacyTreeEncoder.Trie(expected) : LegacyTreeEncoder.Tree(expected);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var service = "legacy-" + format;
        var response = await Http.PostAsync($"/ingest?name={service}.cpu&from={now - 10}&until={now}&sampleRate=100&spyName=gospy&format={format}",
            new ByteArrayContent(body), ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync(ct));

        var startMs = (now - 3600) * 1000;
        var endMs = (now + 60) * 1000;
        var type = Assert.Single(await Query.ProfileTypesAsync(Http, service, startMs, endMs, ct));
        var actual = await Query.MergedStacksAsync(Http, type.ID, $"{{service_name=\"{service}\"}}", startMs, endMs, ct);
        // 100 Hz: a sample is 10 ms of CPU, exactly as for the same stacks sent folded.
        Assert.Equal(expected.ToDictionary(kv => kv.Key, kv => kv.Value * 10_000_000).OrderBy(k => k.Key), actual.OrderBy(k => k.Key));
    }

    [Fact]
    public async Task Nodejs_client_requests_replayed_with_their_own_urls_and_headers()
    {
        var ct = TestContext.Current.CancellationToken;
        foreach (var requestFile in Directory.GetFiles(RepositoryPaths.Fixture("nodejs"), "*.request.json").Order())
        {
            using var json = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(requestFile, ct));
            var body = await File.ReadAllBytesAsync(requestFile.Replace(".request.json", ".pb.gz"), ct);
            var service = "node-" + Path.GetFileName(requestFile)[..10];
            // The recorded name is "probe{labels}": keep the labels, rename the app so each replay is its own service.
            var query = System.Web.HttpUtility.ParseQueryString(json.RootElement.GetProperty("raw_query").GetString()!);
            var name = query["name"]!;
            query["name"] = service + name[name.IndexOf('{')..];
            using var request = new HttpRequestMessage(HttpMethod.Post, json.RootElement.GetProperty("path").GetString() + "?" + query);
            request.Content = new ByteArrayContent(body);
            foreach (var header in json.RootElement.GetProperty("headers").EnumerateObject())
            {
                if (header.Name.Equals("content-type", StringComparison.OrdinalIgnoreCase))
                {
                    request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(header.Value.GetString()!);
                }
                else if (!header.Name.Equals("X-Scope-OrgID", StringComparison.OrdinalIgnoreCase))
                {
                    request.Headers.TryAddWithoutValidation(header.Name, header.Value.GetString());
                }
            }
            var response = await Http.SendAsync(request, ct);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{requestFile}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
            await AssertStoredEqualsInputAsync(ExpectedStacks.ParsePprof(body), service, ct);
        }
    }

    private async Task AssertStoredEqualsInputAsync(Contracts.Google.V1.Profile profile, string service, CancellationToken ct)
    {
        var timeMs = profile.TimeNanos > 0 ? profile.TimeNanos / 1_000_000 : DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var startMs = Math.Min(timeMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()) - 3_600_000;
        var endMs = Math.Max(timeMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()) + 3_600_000;
        if (endMs - startMs > 20 * 3_600_000L)
        {
            startMs = timeMs - 3_600_000;
            endMs = timeMs + 3_600_000;
        }

        var types = await Query.ProfileTypesAsync(Http, service, startMs, endMs, ct);
        if (types.Count == 0)
        {
            // A client bug (py-spy writes microseconds into time_nanos) makes the stamp implausible; the
            // distributor then stamps the profile with the receive time, as upstream does.
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            (startMs, endMs) = (now - 3_600_000, now + 3_600_000);
            types = await Query.ProfileTypesAsync(Http, service, startMs, endMs, ct);
        }
        var checkedTypes = 0;
        for (var i = 0; i < profile.SampleType.Count; i++)
        {
            var expected = ExpectedStacks.FromPprof(profile, i);
            if (expected.Count == 0)
            {
                continue; // upstream drops all-zero sample types
            }
            var sampleType = ExpectedStacks.SampleType(profile, i);
            var type = types.SingleOrDefault(t => t.SampleType + ":" + t.SampleUnit == sampleType);
            Assert.True(type is not null, $"no stored profile type for {sampleType}; stored: {string.Join(", ", types.Select(t => t.ID))}");
            var actual = await Query.MergedStacksAsync(Http, type.ID, $"{{service_name=\"{service}\"}}", startMs, endMs, ct);
            Assert.Equal(expected.Values.Sum(), actual.Values.Sum());
            foreach (var (stack, value) in expected)
            {
                Assert.True(actual.TryGetValue(stack, out var got), $"{sampleType}: stack missing: {stack}");
                Assert.Equal(value, got);
            }
            Assert.Equal(expected.Count, actual.Count);

            // The pprof export and the time series tell the same story as the flame graph.
            var exportedProfile = await Query.MergedPprofAsync(Http, type.ID, $"{{service_name=\"{service}\"}}", startMs, endMs, ct);
            var exported = ExpectedStacks.FromPprof(exportedProfile, 0);
            Assert.Equal(expected.OrderBy(e => e.Key), exported.OrderBy(e => e.Key));
            // ... with every file, line and mapping of the input.
            var inputSymbols = new PprofSymbols(profile);
            var exportedSymbols = new PprofSymbols(exportedProfile);
            Assert.Equal(inputSymbols.FlatByLine(i).OrderBy(e => e.Key.ToString()), exportedSymbols.FlatByLine(0).OrderBy(e => e.Key.ToString()));
            Assert.Equal(inputSymbols.CumulativeByLine(i).OrderBy(e => e.Key.ToString()), exportedSymbols.CumulativeByLine(0).OrderBy(e => e.Key.ToString()));
            Assert.Equal(inputSymbols.UsedMappings(i), exportedSymbols.UsedMappings(0));
            var seriesTotal = await Query.SeriesTotalAsync(Http, type.ID, $"{{service_name=\"{service}\"}}", startMs, endMs, ct);
            Assert.Equal(expected.Values.Sum(), seriesTotal, 0.5);
            checkedTypes++;
        }
        Assert.True(checkedTypes > 0);
    }
}
