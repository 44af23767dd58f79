using System.Text.Json;
using Microsoft.Playwright;
using static Pyroscope.WebUI.Tests.PageHelpers;

namespace Pyroscope.WebUI.Tests;

/// <summary>The UI served by the real monolith, on a profile ingested through POST /ingest.</summary>
public sealed partial class MonolithUiTests(UiFixture ui, MonolithFixture monolith) : IClassFixture<MonolithFixture>
{
    private string Shot(string name) => Path.Combine(ui.ScreenshotDir, "monolith-" + name + ".png");

    private async Task<IPage> OpenCpuViewAsync(string extra = "")
    {
        var page = await ui.NewPageAsync(monolith.Url);
        page.PageError += (_, e) => throw new InvalidOperationException("page error: " + e);
        await page.GotoAsync($"/?query={Q($"{TestApiHost.CpuType}{{service_name=\"{MonolithFixture.Service}\"}}")}&from=now-1h&until=now{extra}");
        await page.WaitForModelAsync();
        return page;
    }

    [Fact]
    public async Task Pickers_and_flame_graph_show_the_ingested_profile()
    {
        var page = await OpenCpuViewAsync();
        var services = await page.Locator("#service option").EvaluateAllAsync<string[]>("els => els.map(e => e.value)");
        Assert.Contains(MonolithFixture.Service, services);
        var types = await page.Locator("#profile-type option").EvaluateAllAsync<string[]>("els => els.map(e => e.value)");
        Assert.Contains(TestApiHost.CpuType, types);

        var total = Expected.Total();
        Assert.Equal(total, await page.EvalAsync<long>("() => window.pyroscopeUI.model.total"));
        var (hottest, self) = Expected.HottestSelf();
        var first = page.Locator("#table tbody tr").First;
        Assert.Equal(hottest, await first.GetAttributeAsync("data-name"));
        Assert.Contains(Expected.Percent(self, total), await first.Locator("td").Nth(1).InnerTextAsync());
        await page.ScreenshotAsync(new() { Path = Shot("single"), FullPage = true });
    }

    [Fact]
    public async Task Search_zoom_diff_and_exports_work_against_the_monolith()
    {
        var total = Expected.Total();
        var page = await OpenCpuViewAsync();
        var covered = Expected.Total(s => Array.Exists(s.Frames, f => f.Contains("sha256", StringComparison.OrdinalIgnoreCase)));
        await page.FillAsync("#search", "sha256");
        await Assertions.Expect(page.Locator("#match-info")).ToContainTextAsync(Expected.Percent(covered, total) + " of total");
        await page.FillAsync("#search", "");

        var at = await page.NodeCenterAsync("main.sortWork") ?? throw new Xunit.Sdk.XunitException("main.sortWork not drawn");
        await page.Mouse.ClickAsync(at.X, at.Y);
        Assert.True(await page.EvalAsync<int>("() => window.pyroscopeUI.flame.zoom.level") > 0);
        await page.ScreenshotAsync(new() { Path = Shot("zoomed"), FullPage = true });

        await page.ClickAsync("#export summary");
        var json = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("button[data-export=json]"));
        using (var doc = JsonDocument.Parse(await File.ReadAllBytesAsync((await json.PathAsync())!, TestContext.Current.CancellationToken)))
            Assert.Equal(total, doc.RootElement.GetProperty("flamebearer").GetProperty("numTicks").GetInt64());

        await page.ClickAsync("#export summary");
        var pprof = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("button[data-export=pprof]"));
        using (var gz = new System.IO.Compression.GZipStream(File.OpenRead((await pprof.PathAsync())!), System.IO.Compression.CompressionMode.Decompress))
        {
            var profile = Pyroscope.Contracts.Google.V1.Profile.Parser.ParseFrom(gz);
            var cpu = Array.IndexOf(FixtureProfiles.SampleTypes(profile), "cpu:nanoseconds");
            long sum = 0;
            foreach (var s in profile.Sample) sum += s.Value[cpu];
            Assert.Equal(total, sum);
        }

        // Same label set on both sides over the whole range: identical sides.
        var range = await page.EvalAsync<long[]>("() => [Date.now() - 3600000, Date.now() + 60000]");
        var q = Q($"{TestApiHost.CpuType}{{service_name=\"{MonolithFixture.Service}\"}}");
        await page.GotoAsync($"/?view=diff&query={q}&from={range[0]}&until={range[1]}&leftQuery={q}&rightQuery={q}" +
                             $"&leftFrom={range[0]}&leftUntil={range[1]}&rightFrom={range[0]}&rightUntil={range[1]}");
        await page.WaitForModelAsync();
        Assert.Equal(total, await page.EvalAsync<long>("() => window.pyroscopeUI.model.leftTicks"));
        Assert.Equal(total, await page.EvalAsync<long>("() => window.pyroscopeUI.model.rightTicks"));
        await page.ScreenshotAsync(new() { Path = Shot("diff"), FullPage = true });

        // pprof labels (handler=hash|math) are queryable labels: compare the two label sets.
        var hash = Expected.Total(s => s.Labels.GetValueOrDefault("handler") == "hash");
        var math = Expected.Total(s => s.Labels.GetValueOrDefault("handler") == "math");
        var lq = Q($"{TestApiHost.CpuType}{{service_name=\"{MonolithFixture.Service}\",handler=\"hash\"}}");
        var rq = Q($"{TestApiHost.CpuType}{{service_name=\"{MonolithFixture.Service}\",handler=\"math\"}}");
        await page.GotoAsync($"/?view=diff&query={q}&from={range[0]}&until={range[1]}&leftQuery={lq}&rightQuery={rq}" +
                             $"&leftFrom={range[0]}&leftUntil={range[1]}&rightFrom={range[0]}&rightUntil={range[1]}");
        await page.WaitForModelAsync();
        Assert.Equal(hash, await page.EvalAsync<long>("() => window.pyroscopeUI.model.leftTicks"));
        Assert.Equal(math, await page.EvalAsync<long>("() => window.pyroscopeUI.model.rightTicks"));
        await page.ScreenshotAsync(new() { Path = Shot("diff-hash-vs-math"), FullPage = true });
    }
}
