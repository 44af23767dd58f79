using System.Net.Http.Headers;
using Google.Protobuf;
using Pyroscope.Contracts.Querier.V1;
using Pyroscope.Testing;

namespace Pyroscope.Profiler.Tests;

/// <summary>
/// Span profiles end to end: an ASP.NET Core app traced with OpenTelemetry and profiled with
/// <c>AddPyroscope()</c> pushes to the real monolith; the querier's <c>SelectMergeSpanProfile</c> for the
/// spans of the slow endpoint's requests has the slow endpoint's method and not the fast one's, and
/// the other way round.
/// </summary>
[Collection(InProcessProfilerCollection.Name)]
public sealed class SpanProfileTests
{
    private const string Cpu = "process_cpu:cpu:nanoseconds:cpu:nanoseconds";

    [Fact]
    public async Task Span_profile_of_the_slow_requests_has_the_slow_method_and_not_the_fast_one()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await PyroscopeProcess.StartMonolithAsync();
        var port = FreePort.Next();
        await using var app = ExternalProcess.Start("dotnet", [SpanAppDll, "--urls", $"http://127.0.0.1:{port}"], environment: new Dictionary<string, string?>
        {
            ["PYROSCOPE_APPLICATION_NAME"] = "span-app",
            ["PYROSCOPE_SERVER_ADDRESS"] = server.BaseAddress.ToString().TrimEnd('/'),
        });
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        await WaitUntilAnsweringAsync(http, app, ct);
        // The requests below must run while the profiler samples: its first session starts (and runs its rundown,
        // seconds under load) after the app answers, and one CI run sent all of them before it, leaving a span
        // profile with no frames at all.
        await WaitUntilSamplingAsync(server.Http, http, ct);

        var slow = new List<string>();
        var fast = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            slow.Add(await SpanOfAsync(http, "/slow", ct));
            fast.Add(await SpanOfAsync(http, "/fast", ct));
        }
        Assert.All(slow.Concat(fast), span => Assert.Matches("^[0-9a-f]{16}$", span));

        var slowProfile = await SpanProfileAsync(server.Http, slow, "SlowEndpoint.Burn", ct);
        Assert.Contains("SlowEndpoint.Burn", slowProfile);
        Assert.DoesNotContain("FastEndpoint.Work", slowProfile);
        var fastProfile = await SpanProfileAsync(server.Http, fast, "FastEndpoint.Work", ct);
        Assert.Contains("FastEndpoint.Work", fastProfile);
        Assert.DoesNotContain("SlowEndpoint.Burn", fastProfile);
    }

    private static string SpanAppDll
    {
        get
        {
            var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var dll = Path.Combine(RepositoryPaths.Root, "tests", "Pyroscope.Profiler.SpanApp", "bin", output.Parent!.Name, output.Name, "Pyroscope.Profiler.SpanApp.dll");
            Assert.True(File.Exists(dll), $"span app not built: {dll}");
            return dll;
        }
    }

    private static async Task WaitUntilAnsweringAsync(HttpClient http, ExternalProcess app, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            Assert.False(app.HasExited, "span app exited: " + app.Output);
            try
            {
                using var response = await http.GetAsync("/fast", ct);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            Assert.True(DateTime.UtcNow < deadline, "span app did not answer: " + app.Output);
            await Task.Delay(100, ct);
        }
    }

    /// <summary>Keeps the app busy until the server holds a cpu profile of it with samples.</summary>
    private static async Task WaitUntilSamplingAsync(HttpClient server, HttpClient app, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            await SpanOfAsync(app, "/fast", ct);
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var query = Uri.EscapeDataString(Cpu + "{service_name=\"span-app\"}");
            var collapsed = await server.GetStringAsync($"/pyroscope/render?query={query}&from={now - 600}&until={now + 60}&format=collapsed", ct);
            if (collapsed.Trim().Length > 0)
            {
                return;
            }
            Assert.True(DateTime.UtcNow < deadline, "the span app's profiler pushed no cpu samples within 60 s");
            await Task.Delay(250, ct);
        }
    }

    private static async Task<string> SpanOfAsync(HttpClient http, string path, CancellationToken ct)
    {
        using var response = await http.GetAsync(path, ct);
        response.EnsureSuccessStatusCode();
        return response.Headers.GetValues("X-Span-Id").Single();
    }

    /// <summary>SelectMergeSpanProfile (Connect, binary) polled until <paramref name="expected"/> is in it; the flame graph's names.</summary>
    private static async Task<HashSet<string>> SpanProfileAsync(HttpClient http, IEnumerable<string> spans, string expected, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var request = new SelectMergeSpanProfileRequest { ProfileTypeID = Cpu, LabelSelector = "{service_name=\"span-app\"}", Start = now - 600_000, End = now + 60_000 };
            request.SpanSelector.AddRange(spans);
            using var body = new ByteArrayContent(request.ToByteArray());
            body.Headers.ContentType = new MediaTypeHeaderValue("application/proto");
            using var response = await http.PostAsync("/querier.v1.QuerierService/SelectMergeSpanProfile", body, ct);
            var bytes = await response.Content.ReadAsByteArrayAsync(ct);
            Assert.True(response.IsSuccessStatusCode, System.Text.Encoding.UTF8.GetString(bytes));
            var names = SelectMergeSpanProfileResponse.Parser.ParseFrom(bytes).Flamegraph?.Names
                .Select(n => n.EndsWith(expected, StringComparison.Ordinal) ? expected : n)
                .Select(n => n.EndsWith("SlowEndpoint.Burn", StringComparison.Ordinal) ? "SlowEndpoint.Burn" : n.EndsWith("FastEndpoint.Work", StringComparison.Ordinal) ? "FastEndpoint.Work" : n)
                .ToHashSet() ?? [];
            if (names.Contains(expected))
            {
                return names;
            }
            Assert.True(DateTime.UtcNow < deadline, $"no {expected} in the span profile; names: {string.Join(", ", names)}");
            await Task.Delay(250, ct);
        }
    }
}
