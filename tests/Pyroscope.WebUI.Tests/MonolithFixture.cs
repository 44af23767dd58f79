using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Google.Protobuf;
using Pyroscope.Testing;

namespace Pyroscope.WebUI.Tests;

/// <summary>
/// The real monolith (Pyroscope.All) on free ports with a temp data dir, with go-cpu.pb.gz ingested through
/// POST /ingest, and for the tag explorer a second service with two fixtures under <c>env=a</c> and
/// <c>env=b</c>. Anything missing (no start, no UI at /, no querier API) fails the tests that use it.
/// </summary>
public sealed class MonolithFixture : IAsyncLifetime
{
    public const string Service = "webui-go-app";
    public const string TagsService = "webui-tags";
    /// <summary>Fixture ingested under each value of <c>env</c> in <see cref="TagsService"/>.</summary>
    public static readonly IReadOnlyDictionary<string, string> EnvFixtures = new Dictionary<string, string>
    {
        ["a"] = "go/go-cpu.pb.gz",
        ["b"] = "upstream/og_convert_pprof__cpu.pb.gz",
    };
    public const string HeatmapService = "webui-heatmap";
    /// <summary>Profiles ingested one by one into <see cref="HeatmapService"/> for the heatmap view (see <see cref="HeatmapProfiles"/>).</summary>
    public IReadOnlyList<PushedProfile> HeatmapProfiles { get; private set; } = [];
    /// <summary>An hour on whole minutes, from 50 minutes before start-up: 30 s heatmap slots on a known grid.</summary>
    public long HeatmapFromMs { get; private set; }
    public long HeatmapUntilMs => HeatmapFromMs + 3_600_000;
    public PyroscopeProcess? Process { get; private set; }
    public string Url => Process!.BaseAddress.ToString().TrimEnd('/');

    public async ValueTask InitializeAsync()
    {
        Process = await PyroscopeProcess.StartMonolithAsync();
        var http = Process.Http;

        using (var index = await http.GetAsync("/"))
        {
            var body = await index.Content.ReadAsStringAsync();
            if (index.StatusCode != HttpStatusCode.OK || !body.Contains("assets/app.js", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"the monolith does not serve the web UI at / (HTTP {(int)index.StatusCode})");
            }
        }

        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await IngestAsync(http, "go/go-cpu.pb.gz", Service);
        foreach (var (env, fixture) in EnvFixtures) await IngestAsync(http, fixture, $"{TagsService}{{env={env}}}");
        HeatmapFromMs = now / 60_000 * 60_000 - 50 * 60_000;
        HeatmapProfiles = PushedProfile.HeatmapSet(HeatmapFromMs);
        foreach (var p in HeatmapProfiles) await IngestAsync(http, p.Profile, $"{HeatmapService}{{pod={p.Pod}}}", p.TimestampMs);

        // Poll until the ingested profiles are queryable (no sleeps beyond short polling).
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var values = await http.PostAsync("/querier.v1.QuerierService/LabelValues",
                new StringContent($"{{\"name\":\"env\",\"start\":{now - 3_600_000},\"end\":{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 60_000}}}", Encoding.UTF8, "application/json"));
            using var services = await http.PostAsync("/querier.v1.QuerierService/LabelValues",
                new StringContent($"{{\"name\":\"service_name\",\"start\":{now - 3_600_000},\"end\":{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 60_000}}}", Encoding.UTF8, "application/json"));
            var envs = await values.Content.ReadAsStringAsync();
            var serviceNames = await services.Content.ReadAsStringAsync();
            if (serviceNames.Contains(Service, StringComparison.Ordinal) && serviceNames.Contains(HeatmapService, StringComparison.Ordinal)
                && envs.Contains("\"a\"", StringComparison.Ordinal) && envs.Contains("\"b\"", StringComparison.Ordinal)) break;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{Service} / {TagsService} never became queryable; output:\n{Process.Output}");
            await Task.Delay(100);
        }
    }

    // The fixture keeps its samples; only its timestamp moves to now, so the UI's default "last hour" shows it.
    private Task IngestAsync(HttpClient http, string fixture, string name) =>
        IngestAsync(http, FixtureProfiles.Read(fixture), name, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 5_000, fixture);

    private async Task IngestAsync(HttpClient http, Pyroscope.Contracts.Google.V1.Profile profile, string name, long timestampMs, string fixture = "a scaled go/go-cpu.pb.gz")
    {
        profile.TimeNanos = timestampMs * 1_000_000;
        var fromS = timestampMs / 1000 - 10;
        using var content = new ByteArrayContent(Gzip(profile.ToByteArray()));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var ingest = await http.PostAsync($"/ingest?name={Uri.EscapeDataString(name)}&from={fromS}&until={fromS + 10}&format=pprof&spyName=gospy&sampleRate=100", content);
        if (!ingest.IsSuccessStatusCode)
            throw new InvalidOperationException($"ingest of {fixture} as {name} failed: HTTP {(int)ingest.StatusCode} {await ingest.Content.ReadAsStringAsync()}\n{Process!.Output}");
    }

    private static byte[] Gzip(byte[] raw)
    {
        using var output = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(output, System.IO.Compression.CompressionLevel.Fastest))
            gzip.Write(raw);
        return output.ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        if (Process is not null) await Process.DisposeAsync();
    }
}
