using System.Net;
using System.Net.Http.Headers;
using Pyroscope.Formats.Jfr;
using Pyroscope.Testing;

namespace Pyroscope.IntegrationTests;

/// <summary>
/// JFR through /ingest, raw and as the Java agent's multipart form with labels: every profile type the
/// conversion yields is stored and comes back with the same value per stack. (The conversion itself is
/// checked against the JDK's own jfr tool in Pyroscope.Formats.Tests.)
/// </summary>
public class JfrRoundTripTests(MonolithFixture monolith) : IClassFixture<MonolithFixture>
{
    [Fact]
    public async Task Jdk_flight_recording_posted_raw()
    {
        var ct = TestContext.Current.CancellationToken;
        var jfr = await File.ReadAllBytesAsync(RepositoryPaths.Fixture("jfr/jdk17-cpu-alloc.jfr"), ct);
        using var content = new ByteArrayContent(jfr);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        var (from, until) = Window();
        var response = await monolith.Server.Http.PostAsync($"/ingest?name=jfr-raw&format=jfr&from={from}&until={until}&spyName=javaspy", content, ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync(ct));

        await AssertStoredAsync("jfr-raw", JfrConverter.Convert(jfr, [], Options(from, until)), from, until, ct);
    }

    [Fact]
    public async Task Async_profiler_recording_posted_as_multipart_with_labels()
    {
        var ct = TestContext.Current.CancellationToken;
        var jfr = await File.ReadAllBytesAsync(RepositoryPaths.Fixture("upstream/og_convert_jfr__dump1.jfr.gz"), ct);
        var labels = await File.ReadAllBytesAsync(RepositoryPaths.Fixture("upstream/og_convert_jfr__dump1.labels.pb.gz"), ct);
        using var form = new MultipartFormDataContent
        {
            { new ByteArrayContent(jfr), "jfr", "jfr" },
            { new ByteArrayContent(labels), "labels", "labels" },
        };
        var (from, until) = Window();
        var response = await monolith.Server.Http.PostAsync($"/ingest?name=jfr-multipart&format=jfr&from={from}&until={until}&spyName=javaspy", form, ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync(ct));

        var expected = JfrConverter.Convert(ExpectedStacks.Ungzip(jfr), ExpectedStacks.Ungzip(labels), Options(from, until));
        Assert.Contains(expected, p => p.ExtraLabels.Count > 0);
        await AssertStoredAsync("jfr-multipart", expected, from, until, ct);
    }

    private static (long From, long Until) Window()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        return (now - 10, now);
    }

    private static JfrConvertOptions Options(long from, long until) => new()
    {
        StartTimeUnixNanos = from * 1_000_000_000,
        EndTimeUnixNanos = until * 1_000_000_000,
    };

    private async Task AssertStoredAsync(string service, IReadOnlyList<JfrProfile> converted, long from, long until, CancellationToken ct)
    {
        var byType = converted.GroupBy(p => p.Type.Id).ToList();
        Assert.NotEmpty(byType);
        foreach (var group in byType)
        {
            var expected = new Dictionary<string, long>();
            foreach (var profile in group)
            {
                foreach (var (stack, value) in ExpectedStacks.FromPprof(profile.Pprof, 0))
                {
                    expected[stack] = expected.GetValueOrDefault(stack) + value;
                }
            }
            if (expected.Count == 0)
            {
                continue;
            }
            var actual = await Query.MergedStacksAsync(monolith.Server.Http, group.Key, $"{{service_name=\"{service}\"}}", (from - 60) * 1000, (until + 60) * 1000, ct);
            Assert.True(expected.Values.Sum() == actual.Values.Sum(), $"{group.Key}: expected total {expected.Values.Sum()}, stored {actual.Values.Sum()}");
            foreach (var (stack, value) in expected)
            {
                Assert.Equal(value, actual.GetValueOrDefault(stack));
            }
        }
    }
}
