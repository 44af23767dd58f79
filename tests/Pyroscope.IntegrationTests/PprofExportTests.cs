using System.Net;
using System.Net.Http.Headers;
using Pyroscope.Testing;

namespace Pyroscope.IntegrationTests;

/// <summary>The legacy render API's pprof download is the same full-fidelity export as SelectMergeProfile.</summary>
public class PprofExportTests(MonolithFixture monolith) : IClassFixture<MonolithFixture>
{
    [Fact]
    public async Task Legacy_render_pprof_keeps_files_lines_and_mappings()
    {
        var ct = TestContext.Current.CancellationToken;
        var bytes = await File.ReadAllBytesAsync(RepositoryPaths.Fixture("go/go-cpu.pb.gz"), ct);
        var profile = ExpectedStacks.ParsePprof(bytes);
        using (var content = new ByteArrayContent(bytes))
        {
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            var response = await monolith.Server.Http.PostAsync("/ingest?name=render-pprof&format=pprof", content, ct);
            Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync(ct));
        }
        var timeMs = profile.TimeNanos / 1_000_000;
        var query = Uri.EscapeDataString("process_cpu:cpu:nanoseconds:cpu:nanoseconds{service_name=\"render-pprof\"}");

        var exported = ExpectedStacks.ParsePprof(await monolith.Server.Http.GetByteArrayAsync(
            $"/pyroscope/render?query={query}&from={timeMs - 3_600_000}&until={timeMs + 3_600_000}&format=pprof", ct));

        var input = new PprofSymbols(profile);
        var output = new PprofSymbols(exported);
        Assert.Contains(input.FlatByLine(1).Keys, k => k.File.EndsWith(".go", StringComparison.Ordinal) && k.Line > 0);
        Assert.Equal(input.FlatByLine(1).OrderBy(e => e.Key.ToString()), output.FlatByLine(0).OrderBy(e => e.Key.ToString()));
        Assert.Equal(input.UsedMappings(1), output.UsedMappings(0));
        Assert.Equal("cpu", exported.StringTable[(int)exported.SampleType[0].Type]);
    }
}
