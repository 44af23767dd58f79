using System.IO.Compression;
using System.Text.Json;
using Microsoft.Playwright;
using Pyroscope.Contracts.Google.V1;
using static Pyroscope.WebUI.Tests.PageHelpers;

namespace Pyroscope.WebUI.Tests;

/// <summary>
/// The UI in a real browser against the fixture-backed host. Every expected number comes from decoding
/// the fixture in <see cref="Expected"/>, not from the UI or the host.
/// </summary>
public sealed class BrowserTests(UiFixture ui)
{
    private static readonly string GoQuery = $"{TestApiHost.CpuType}{{service_name=\"{TestApiHost.GoService}\"}}";

    private string Shot(string name) => Path.Combine(ui.ScreenshotDir, name + ".png");

    private async Task<IPage> OpenAsync(string url = "/")
    {
        var page = await ui.NewPageAsync();
        page.PageError += (_, e) => throw new InvalidOperationException("page error: " + e);
        await page.GotoAsync(url);
        return page;
    }

    private static async Task<List<string>> OptionsAsync(IPage page, string selectId) =>
        [.. await page.Locator($"#{selectId} option").EvaluateAllAsync<string[]>("els => els.map(e => e.value)")];

    [Fact]
    public async Task Pickers_list_the_services_and_profile_types_of_the_data()
    {
        var page = await OpenAsync();
        await page.WaitForModelAsync();
        Assert.Equal([TestApiHost.GoService, TestApiHost.SyntheticService], await OptionsAsync(page, "service"));

        var types = await OptionsAsync(page, "profile-type");
        foreach (var t in FixtureProfiles.SampleTypes(FixtureProfiles.Read("go/go-cpu.pb.gz")))
            Assert.Contains($"process_cpu:{t}:cpu:nanoseconds", types);
        foreach (var t in FixtureProfiles.SampleTypes(FixtureProfiles.Read("go/go-heap.pb.gz")))
            Assert.Contains($"memory:{t}:space:bytes", types);
        Assert.Equal(TestApiHost.CpuType, await page.InputValueAsync("#profile-type"));

        // Switching type reloads with that type's unit.
        await page.SelectOptionAsync("#profile-type", "memory:alloc_space:bytes:space:bytes");
        await page.WaitForFunctionAsync("() => location.search.includes('alloc_space')");
        await page.WaitForModelAsync();
        Assert.Matches(@"total [\d.]+ (B|KiB|MiB|GiB)$", await page.InnerTextAsync("#flame-title"));
    }

    [Fact]
    public async Task Flame_graph_and_table_show_the_hottest_function_with_its_share()
    {
        var (hottest, self) = Expected.HottestSelf();
        var total = Expected.Total();
        var page = await OpenAsync();
        await page.WaitForModelAsync();
        Assert.Equal(total, await page.EvalAsync<long>("() => window.pyroscopeUI.model.total"));

        // Table sorted by self: first row is the hottest function with the fixture's percentage.
        var firstRow = page.Locator("#table tbody tr").First;
        Assert.Equal(hottest, await firstRow.GetAttributeAsync("data-name"));
        Assert.Contains(Expected.Percent(self, total), await firstRow.Locator("td").Nth(1).InnerTextAsync());

        // Hovering its widest frame shows that call path's total and self shares.
        var at = await page.NodeCenterAsync(hottest) ?? throw new Xunit.Sdk.XunitException($"{hottest} not drawn");
        var path = await page.NodeStackAsync(hottest);
        Assert.Equal(hottest, path[^1]);
        await page.Mouse.MoveAsync(at.X, at.Y);
        var tooltip = page.Locator("#flamegraph .tooltip");
        await Assertions.Expect(tooltip).ToBeVisibleAsync();
        var text = await tooltip.InnerTextAsync();
        Assert.Contains(hottest, text);
        var pathTotal = Expected.Total(s => s.Frames.AsSpan().StartsWith(path));
        var pathSelf = Expected.Total(s => s.Frames.AsSpan().SequenceEqual(path));
        var lines = text.Split('\n');
        Assert.StartsWith("Total", lines[1]);
        Assert.EndsWith("\t" + Expected.Percent(pathTotal, total), lines[1]);
        Assert.StartsWith("Self", lines[2]);
        Assert.EndsWith("\t" + Expected.Percent(pathSelf, total), lines[2]);
        await page.ScreenshotAsync(new() { Path = Shot("01-single-view-tooltip") });
    }

    [Fact]
    public async Task Search_highlights_matching_frames_and_filters_the_table()
    {
        var total = Expected.Total();
        var covered = Expected.Total(s => Array.Exists(s.Frames, f => f.Contains("sha256", StringComparison.OrdinalIgnoreCase)));
        var page = await OpenAsync();
        await page.WaitForModelAsync();
        var nonMatching = await page.NodeCenterAsync("sort.Sort") ?? throw new Xunit.Sdk.XunitException("sort.Sort not drawn");
        var before = await page.PixelAsync(nonMatching.X, nonMatching.Y);

        await page.FillAsync("#search", "sha256");
        await Assertions.Expect(page.Locator("#match-info")).ToContainTextAsync(Expected.Percent(covered, total) + " of total");
        Assert.Contains("search=sha256", page.Url);
        var rows = await page.Locator("#table tbody tr").EvaluateAllAsync<string[]>("els => els.map(e => e.dataset.name)");
        Assert.NotEmpty(rows);
        Assert.All(rows, r => Assert.Contains("sha256", r, StringComparison.OrdinalIgnoreCase));

        // Non-matching frames are greyed out.
        var after = await page.PixelAsync(nonMatching.X, nonMatching.Y);
        Assert.NotEqual(before, after);
        Assert.Equal([228, 228, 228], after);
        await page.ScreenshotAsync(new() { Path = Shot("02-search-sha256"), FullPage = true });
    }

    [Fact]
    public async Task Click_zooms_into_a_frame_and_reset_restores_the_whole_graph()
    {
        var page = await OpenAsync();
        await page.WaitForModelAsync();
        const string target = "main.sortWork";
        var at = await page.NodeCenterAsync(target) ?? throw new Xunit.Sdk.XunitException($"{target} not drawn");
        await page.Mouse.ClickAsync(at.X, at.Y);
        Assert.True(await page.EvalAsync<int>("() => window.pyroscopeUI.flame.zoom.level") > 0);

        // The zoomed frame now spans the full width: its right edge hovers as the same function.
        var box = (await page.Locator("#flamegraph .flamegraph-canvas").BoundingBoxAsync())!;
        await page.Mouse.MoveAsync(box.X + box.Width - 4, at.Y);
        await Assertions.Expect(page.Locator("#flamegraph .tooltip .tt-name")).ToHaveTextAsync(target);
        await page.ScreenshotAsync(new() { Path = Shot("03-zoomed-main.sortWork"), FullPage = true });

        await page.ClickAsync("#reset-zoom");
        Assert.Equal(0, await page.EvalAsync<int>("() => window.pyroscopeUI.flame.zoom.level"));
        await page.Mouse.MoveAsync(box.X + box.Width - 4, at.Y);
        await Assertions.Expect(page.Locator("#flamegraph .tooltip .tt-name")).Not.ToHaveTextAsync(target);
    }

    [Fact]
    public async Task Table_sorts_by_column_and_a_row_click_highlights_and_zooms_the_function()
    {
        var total = Expected.Total();
        var page = await OpenAsync();
        await page.WaitForModelAsync();

        await page.ClickAsync("#table th[data-key=total]");
        var values = await page.Locator("#table tbody tr td:nth-child(3)").EvaluateAllAsync<double[]>("els => els.map(e => Number(e.dataset.value))");
        for (var i = 1; i < values.Length; i++) Assert.True(values[i - 1] >= values[i], "total column must be sorted descending");
        var functions = Expected.GoCpu.SelectMany(s => s.Frames).Distinct();
        Assert.Equal(functions.Max(Expected.TotalOf), (long)values[0]);

        await page.ClickAsync("#table th[data-key=name]");
        var names = await page.Locator("#table tbody tr").EvaluateAllAsync<string[]>("els => els.map(e => e.dataset.name)");
        Assert.Equal(names.Order(StringComparer.Ordinal), names);

        const string fn = "math.sin";
        await page.FillAsync("#search", "math.");
        // The search is applied 120 ms after the last keystroke and re-renders the table: a click before that lands
        // on a row the re-render moves away.
        await page.WaitForFunctionAsync("() => window.pyroscopeUI.flame.search === 'math.'");
        await page.ClickAsync($"#table tr[data-name='{fn}']");
        Assert.Equal(fn, await page.EvalAsync<string>("() => window.pyroscopeUI.flame.selectedName"));
        Assert.True(await page.EvalAsync<int>("() => window.pyroscopeUI.flame.zoom.level") > 0);
        await Assertions.Expect(page.Locator("#match-info")).ToContainTextAsync(Expected.Percent(Expected.TotalOf(fn), total));
        await page.ScreenshotAsync(new() { Path = Shot("04-table-row-selected"), FullPage = true });
    }

    [Fact]
    public async Task Diff_view_compares_two_label_sets()
    {
        var hash = Expected.Total(s => s.Labels.GetValueOrDefault("handler") == "hash");
        var math = Expected.Total(s => s.Labels.GetValueOrDefault("handler") == "math");
        Assert.True(hash > 0 && math > 0);
        var from = ui.Host.BaseTimeMs - 3_700_000;
        var until = ui.Host.BaseTimeMs + 60_000;
        var url = $"/?view=diff&query={Q(GoQuery)}&from={from}&until={until}" +
                  $"&leftQuery={Q($"{TestApiHost.CpuType}{{service_name=\"go-app\",handler=\"hash\"}}")}&leftFrom={from}&leftUntil={until}" +
                  $"&rightQuery={Q($"{TestApiHost.CpuType}{{service_name=\"go-app\",handler=\"math\"}}")}&rightFrom={from}&rightUntil={until}";
        var page = await OpenAsync(url);
        await page.WaitForModelAsync();
        Assert.True(await page.EvalAsync<bool>("() => window.pyroscopeUI.model.isDiff"));
        Assert.Equal(hash, await page.EvalAsync<long>("() => window.pyroscopeUI.model.leftTicks"));
        Assert.Equal(math, await page.EvalAsync<long>("() => window.pyroscopeUI.model.rightTicks"));
        await Assertions.Expect(page.Locator("#diff-controls")).ToBeVisibleAsync();

        // main.mathWork only runs under handler=math: all comparison, drawn red, "new" in the tooltip.
        var mathOnly = await page.NodeCenterAsync("main.mathWork") ?? throw new Xunit.Sdk.XunitException("main.mathWork not drawn");
        var red = await page.PixelAsync(mathOnly.X, mathOnly.Y);
        Assert.True(red[0] > 180 && red[1] < 120, $"expected red, got {string.Join(',', red)}");
        await page.Mouse.MoveAsync(mathOnly.X, mathOnly.Y);
        await Assertions.Expect(page.Locator("#flamegraph .tooltip")).ToContainTextAsync("new");
        await page.ScreenshotAsync(new() { Path = Shot("05b-diff-tooltip") });
        // crypto/sha256.block only under handler=hash: green.
        var hashOnly = await page.NodeCenterAsync("crypto/sha256.block") ?? throw new Xunit.Sdk.XunitException("sha256.block not drawn");
        var green = await page.PixelAsync(hashOnly.X, hashOnly.Y);
        Assert.True(green[1] > 140 && green[0] < 120, $"expected green, got {string.Join(',', green)}");
        await page.ScreenshotAsync(new() { Path = Shot("05-diff-labels-hash-vs-math"), FullPage = true });

        // Editing the comparison selector re-runs the diff with it.
        await page.FillAsync("#right-selector", "{service_name=\"go-app\",handler=\"hash\"}");
        await page.PressAsync("#right-selector", "Enter");
        await page.WaitForFunctionAsync($"() => window.pyroscopeUI.model && window.pyroscopeUI.model.rightTicks === {hash}");
    }

    [Fact]
    public async Task Comparison_tab_diffs_two_time_ranges_and_drag_sets_a_side()
    {
        var page = await OpenAsync($"/?query={Q(GoQuery)}&from=now-1h&until=now");
        await page.WaitForModelAsync();
        await page.ClickAsync("#view-diff");
        await page.WaitForFunctionAsync("() => window.pyroscopeUI.model && window.pyroscopeUI.model.isDiff");
        await page.WaitForModelAsync();
        var left = await page.EvalAsync<long>("() => window.pyroscopeUI.model.leftTicks");
        var right = await page.EvalAsync<long>("() => window.pyroscopeUI.model.rightTicks");
        Assert.Equal(Expected.Total(), left + right); // halves of the hour cover every bucket once
        Assert.True(left > 0 && right > 0);
        Assert.Contains("view=diff", page.Url);

        // Drag over the last quarter of the timeline with "Comparison" chosen.
        await page.CheckAsync("input[name=drag-side][value=right]");
        var box = (await page.Locator(".timeline-canvas").BoundingBoxAsync())!;
        float plotLeft = box.X + 64, plotWidth = box.Width - 64 - 12;
        await page.Mouse.MoveAsync(plotLeft + plotWidth * 0.75f, box.Y + 50);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(plotLeft + plotWidth * 0.99f, box.Y + 50, new() { Steps = 5 });
        await page.Mouse.UpAsync();
        await page.WaitForFunctionAsync("() => new URLSearchParams(location.search).has('rightFrom')");
        await page.WaitForModelAsync();
        var p = System.Web.HttpUtility.ParseQueryString(new Uri(page.Url).Query);
        long rFrom = long.Parse(p["rightFrom"]!), rUntil = long.Parse(p["rightUntil"]!);
        await page.WaitForFunctionAsync($"() => window.pyroscopeUI.model.rightTicks === {ExpectedInRange(rFrom, rUntil)}");
        await page.ScreenshotAsync(new() { Path = Shot("06-diff-time-ranges"), FullPage = true });
    }

    private long ExpectedInRange(long from, long until)
    {
        long sum = 0;
        for (var i = 0; i < Expected.GoCpu.Count; i++)
        {
            var t = ui.Host.BucketTime(i % TestApiHost.Buckets);
            if (t >= from && t < until) sum += Expected.GoCpu[i].Values[Expected.CpuNs];
        }
        return sum;
    }

    [Fact]
    public async Task Timeline_drag_selects_a_range_and_the_url_reproduces_the_view()
    {
        var page = await OpenAsync();
        await page.WaitForModelAsync();
        var box = (await page.Locator(".timeline-canvas").BoundingBoxAsync())!;
        float plotLeft = box.X + 64, plotWidth = box.Width - 64 - 12;

        // Hovering the chart reads out the nearest point: bucket 0 holds every 12th fixture sample.
        var bucket0 = 0L;
        for (var i = 0; i < Expected.GoCpu.Count; i += TestApiHost.Buckets) bucket0 += Expected.GoCpu[i].Values[Expected.CpuNs];
        var range = await page.EvalAsync<double[]>("() => [window.pyroscopeUI.timeline.from, window.pyroscopeUI.timeline.until]");
        var fraction = (float)((ui.Host.BucketTime(0) - range[0]) / (range[1] - range[0]));
        await page.Mouse.MoveAsync(plotLeft + plotWidth * fraction, box.Y + 60);
        var ms = bucket0 / 1e6;
        await Assertions.Expect(page.Locator(".timeline-tip")).ToContainTextAsync(ms >= 100 ? $"{ms:F0} ms" : $"{ms:F1} ms");

        await page.Mouse.MoveAsync(plotLeft + plotWidth * 0.2f, box.Y + 60);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(plotLeft + plotWidth * 0.6f, box.Y + 60, new() { Steps = 5 });
        await page.Mouse.UpAsync();
        await page.WaitForFunctionAsync("() => /from=\\d+/.test(location.search)");
        await page.WaitForModelAsync();
        var p = System.Web.HttpUtility.ParseQueryString(new Uri(page.Url).Query);
        long from = long.Parse(p["from"]!), until = long.Parse(p["until"]!);
        var expected = ExpectedInRange(from, until);
        Assert.True(expected > 0 && expected < Expected.Total());
        await page.WaitForFunctionAsync($"() => window.pyroscopeUI.model.total === {expected}");

        // Add a filter and a search, then open the same URL in a fresh page: same view.
        await page.SelectOptionAsync("#filter-name", "handler");
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('#filter-value option')].some(o => o.value === 'math')");
        await page.SelectOptionAsync("#filter-value", "math");
        await page.ClickAsync("#filter-add");
        await Assertions.Expect(page.Locator("#filter-chips .chip")).ToContainTextAsync("handler = \"math\"");
        await page.FillAsync("#search", "math");
        await page.WaitForFunctionAsync("() => location.search.includes('search=math')");
        var mathInRange = 0L;
        for (var i = 0; i < Expected.GoCpu.Count; i++)
        {
            var t = ui.Host.BucketTime(i % TestApiHost.Buckets);
            if (t >= from && t < until && Expected.GoCpu[i].Labels.GetValueOrDefault("handler") == "math") mathInRange += Expected.GoCpu[i].Values[Expected.CpuNs];
        }
        await page.WaitForFunctionAsync($"() => window.pyroscopeUI.model.total === {mathInRange}");
        var link = page.Url;

        var again = await OpenAsync(link);
        await again.WaitForModelAsync();
        Assert.Equal(mathInRange, await again.EvalAsync<long>("() => window.pyroscopeUI.model.total"));
        Assert.Equal("math", await again.InputValueAsync("#search"));
        await Assertions.Expect(again.Locator("#filter-chips .chip")).ToContainTextAsync("handler = \"math\"");
        Assert.Contains("handler=\"math\"", await again.InnerTextAsync("#query-text"));
        await again.ScreenshotAsync(new() { Path = Shot("07-url-restored-filter-search"), FullPage = true });
    }

    [Fact]
    public async Task Custom_and_preset_time_ranges_update_the_url()
    {
        var page = await OpenAsync();
        await page.WaitForModelAsync();
        await page.ClickAsync("#custom-range summary");
        var from = DateTimeOffset.FromUnixTimeMilliseconds(ui.Host.BucketTime(0) - 60_000).ToLocalTime();
        var until = DateTimeOffset.FromUnixTimeMilliseconds(ui.Host.BucketTime(1) + 60_000).ToLocalTime();
        await page.FillAsync("#custom-from", DateTimeLocal(from));
        await page.FillAsync("#custom-until", DateTimeLocal(until));
        await page.ClickAsync("#custom-apply");
        await page.WaitForFunctionAsync("() => /from=\\d+/.test(location.search)");
        var expected = ExpectedInRange(ui.Host.BucketTime(0) - 60_000, ui.Host.BucketTime(1) + 60_000);
        await page.WaitForFunctionAsync($"() => window.pyroscopeUI.model && window.pyroscopeUI.model.total === {expected}");

        await page.ClickAsync("button.preset[data-range='now-15m']");
        await page.WaitForFunctionAsync("() => location.search.includes('from=now-15m')");
        await Assertions.Expect(page.Locator("#range-label")).ToHaveTextAsync("Last 15 minutes");
    }

    /// <summary>
    /// The value Chromium keeps in a datetime-local input: it drops ":00" seconds, and Playwright's fill refuses
    /// ("Malformed value") a value the input normalises differently, so whole minutes are written without seconds.
    /// </summary>
    private static string DateTimeLocal(DateTimeOffset time) =>
        time.ToString(time.Second == 0 ? "yyyy-MM-ddTHH:mm" : "yyyy-MM-ddTHH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task Exports_png_json_pprof_and_collapsed()
    {
        var total = Expected.Total();
        var page = await OpenAsync();
        await page.WaitForModelAsync();

        async Task<byte[]> Export(string kind)
        {
            await page.ClickAsync("#export summary");
            var download = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync($"button[data-export={kind}]"));
            var path = Path.Combine(ui.ScreenshotDir, "..", "exports", download.SuggestedFilename);
            await download.SaveAsAsync(path);
            return await File.ReadAllBytesAsync(path);
        }

        var png = await Export("png");
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        Assert.True(png.Length > 5_000);

        using (var json = JsonDocument.Parse(await Export("json")))
            Assert.Equal(total, json.RootElement.GetProperty("flamebearer").GetProperty("numTicks").GetInt64());

        var pprofGz = await Export("pprof");
        using (var gz = new GZipStream(new MemoryStream(pprofGz), CompressionMode.Decompress))
        {
            var profile = Profile.Parser.ParseFrom(gz);
            var cpu = Array.IndexOf(FixtureProfiles.SampleTypes(profile), "cpu:nanoseconds");
            Assert.True(cpu >= 0, "the exported pprof must hold cpu:nanoseconds");
            long sum = 0;
            foreach (var s in profile.Sample) sum += s.Value[cpu];
            Assert.Equal(total, sum);
        }
        Assert.StartsWith($"{TestApiHost.CpuType}|{{service_name=\"go-app\"}}|", ui.Host.LastMergeProfileRequest);

        var collapsed = System.Text.Encoding.UTF8.GetString(await Export("collapsed"));
        long collapsedSum = 0;
        foreach (var line in collapsed.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            collapsedSum += long.Parse(line[(line.LastIndexOf(' ') + 1)..]);
        Assert.Equal(total, collapsedSum);
        var (hottest, _) = Expected.HottestSelf();
        Assert.Contains(";" + hottest + " ", collapsed);
    }

    [Fact]
    public async Task Empty_tenant_shows_how_to_send_data()
    {
        var page = await OpenAsync("/?tenant=empty");
        var empty = page.Locator("#empty");
        await Assertions.Expect(empty).ToBeVisibleAsync();
        await Assertions.Expect(empty).ToContainTextAsync("No profiling data");
        await Assertions.Expect(empty).ToContainTextAsync($"curl --data-binary @- '{ui.Host.Url}/ingest?name=");
        Assert.True(await page.Locator("#results").IsHiddenAsync());
        Assert.Contains(ui.Host.Requests, r => r.Contains("ProfileTypes"));
        await page.ScreenshotAsync(new() { Path = Shot("08-empty-state"), FullPage = true });
    }

    [Fact]
    public async Task Api_errors_are_shown_to_the_user()
    {
        var page = await OpenAsync("/?tenant=broken");
        var error = page.Locator("#error");
        await Assertions.Expect(error).ToBeVisibleAsync();
        await Assertions.Expect(error).ToContainTextAsync("HTTP 500");
        await Assertions.Expect(error).ToContainTextAsync("simulated failure for tenant broken");
        await page.ScreenshotAsync(new() { Path = Shot("09-api-error"), FullPage = true });

        // Typing a working tenant recovers.
        await page.FillAsync("#tenant", "");
        await page.PressAsync("#tenant", "Enter");
        await page.Locator("#tenant").BlurAsync();
        await page.WaitForModelAsync();
        Assert.True(await error.IsHiddenAsync());
    }

    [Fact]
    public async Task Renders_a_10k_node_flame_graph_and_reports_the_time()
    {
        // Above the server's default of 8192 nodes, so nothing is merged into "other".
        var page = await OpenAsync($"/?query={Q($"{TestApiHost.CpuType}{{service_name=\"{TestApiHost.SyntheticService}\"}}")}&maxNodes=16384");
        await page.WaitForModelAsync();
        Assert.Equal("16384", await page.InputValueAsync("#max-nodes"));
        Assert.Contains(ui.Host.Requests, r => r.Contains("/pyroscope/render") && r.Contains("maxNodes=16384"));
        var nodes = await page.EvalAsync<int>("() => window.pyroscopeUI.model.nodeCount");
        Assert.Equal(ui.Host.SyntheticNodeCount, nodes);
        Assert.True(nodes >= 10_000);
        var json = await page.EvalAsync<string>("""
            () => {
              const ui = window.pyroscopeUI;
              const draws = [];
              for (let i = 0; i < 20; i++) { const t = performance.now(); ui.flame.draw(); draws.push(performance.now() - t); }
              draws.sort((a, b) => a - b);
              return JSON.stringify({ median: draws[10], max: draws[19], min: draws[0] });
            }
            """);
        var decode = await page.EvalAsync<string>("""
            () => {
              const ui = window.pyroscopeUI, t = [];
              for (let i = 0; i < 10; i++) { const s = performance.now(); new ui.FlameModel(ui.render.flamebearer, false).topTable(); t.push(performance.now() - s); }
              t.sort((a, b) => a - b);
              return JSON.stringify({ median: t[5] });
            }
            """);
        var report = $"flame graph with {nodes} nodes: draw {json}; decode+top table (ms) {decode}";
        TestContext.Current.TestOutputHelper?.WriteLine(report);
        await File.WriteAllTextAsync(Path.Combine(ui.ScreenshotDir, "..", "render-10k.txt"), report + Environment.NewLine, TestContext.Current.CancellationToken);
        await page.ScreenshotAsync(new() { Path = Shot("10-synthetic-10k-nodes"), FullPage = false });
    }

    [Fact]
    public async Task Tag_explorer_draws_the_top_ten_values_and_an_exact_other_line()
    {
        var totals = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (_, value, shard) in ui.Host.SyntheticStacks) totals[shard] = totals.GetValueOrDefault(shard) + value;
        var ranked = totals.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key).ToArray();
        Assert.True(ranked.Length > 10);
        var otherTotal = ranked.Skip(10).Sum(v => totals[v]);

        var page = await OpenAsync($"/?view=explore&query={Q($"{TestApiHost.CpuType}{{service_name=\"{TestApiHost.SyntheticService}\"}}")}&groupBy=shard");
        await page.WaitForModelAsync();
        var rows = page.Locator("#explore-table tbody tr[data-value]");
        Assert.Equal(ranked, await rows.EvaluateAllAsync<string[]>("els => els.map(e => e.dataset.value)"));
        Assert.Equal(ranked.Select(v => (double)totals[v]), await rows.EvaluateAllAsync<double[]>("els => els.map(e => Number(e.dataset.total))"));
        Assert.Equal(ranked.Take(10), await page.Locator("#timeline-legend button[data-value]").EvaluateAllAsync<string[]>("els => els.map(e => e.dataset.value)"));
        await Assertions.Expect(page.Locator("#timeline-legend button:disabled")).ToHaveTextAsync("other");
        Assert.Equal(11, await page.EvalAsync<int>("() => window.pyroscopeUI.timeline.series.length"));
        Assert.Equal(otherTotal, await page.EvalAsync<long>("() => window.pyroscopeUI.explore.other.total"));
        await page.ScreenshotAsync(new() { Path = Shot("12-explore-top10-and-other"), FullPage = true });

        // Hovering the chart lists the values at the nearest step, largest first.
        var box = (await page.Locator(".timeline-canvas").BoundingBoxAsync())!;
        var range = await page.EvalAsync<double[]>("() => [window.pyroscopeUI.timeline.from, window.pyroscopeUI.timeline.until]");
        var fraction = (float)((ui.Host.BucketTime(3) - range[0]) / (range[1] - range[0]));
        await page.Mouse.MoveAsync(box.X + 64 + (box.Width - 76) * fraction, box.Y + 60);
        var tipLines = page.Locator(".timeline-tip div");
        await Assertions.Expect(tipLines.Nth(1)).ToContainTextAsync("shard-");
        Assert.True(await tipLines.CountAsync() >= 3, "the tip lists several series");

        // A value outside the top ten still filters the flame graph from the table.
        var last = ranked[^1];
        await page.ClickAsync($"#explore-table tr[data-value='{last}']");
        await page.WaitForFunctionAsync($"() => window.pyroscopeUI.model && window.pyroscopeUI.model.total === {totals[last]}");
        Assert.Equal(last, System.Web.HttpUtility.ParseQueryString(new Uri(page.Url).Query)["groupByValue"]);
        Assert.Contains($"shard=\"{last}\"", await page.InnerTextAsync("#flame-title"));
    }

    [Fact]
    public async Task Sandwich_of_a_10k_node_flame_graph_is_built_in_the_browser_and_reports_the_time()
    {
        // The function with the most call sites (distinct call paths) in the tree; its total counts each stack once.
        var stacks = ui.Host.SyntheticStacks;
        var callPaths = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var (frames, _, _) in stacks)
            for (var d = 0; d < frames.Length; d++)
            {
                if (!callPaths.TryGetValue(frames[d], out var set)) callPaths[frames[d]] = set = new HashSet<string>(StringComparer.Ordinal);
                set.Add(string.Join(';', frames[..d]));
            }
        var fn = callPaths.OrderByDescending(kv => kv.Value.Count).ThenBy(kv => kv.Key, StringComparer.Ordinal).First().Key;
        long fnTotal = 0;
        foreach (var (frames, value, _) in stacks) if (Array.IndexOf(frames, fn) >= 0) fnTotal += value;

        var page = await OpenAsync($"/?query={Q($"{TestApiHost.CpuType}{{service_name=\"{TestApiHost.SyntheticService}\"}}")}&maxNodes=16384&sandwich={Q(fn)}");
        await page.WaitForModelAsync();
        await page.WaitForFunctionAsync("() => window.pyroscopeUI.sandwich");
        Assert.Equal(ui.Host.SyntheticNodeCount, await page.EvalAsync<int>("() => window.pyroscopeUI.model.nodeCount"));
        Assert.Equal(fnTotal, await page.EvalAsync<long>("() => window.pyroscopeUI.sandwich.total"));
        Assert.Equal(fnTotal, await page.EvalAsync<long>("() => window.pyroscopeUI.callersFlame.model.total"));
        Assert.Equal(fnTotal, await page.EvalAsync<long>("() => window.pyroscopeUI.calleesFlame.model.total"));
        var json = await page.EvalAsync<string>("""
            (fn) => {
              const ui = window.pyroscopeUI, build = [], draw = [];
              let s;
              for (let i = 0; i < 10; i++) { const t = performance.now(); s = ui.buildSandwich(ui.model, fn); build.push(performance.now() - t); }
              for (let i = 0; i < 10; i++) { const t = performance.now(); ui.callersFlame.draw(); ui.calleesFlame.draw(); draw.push(performance.now() - t); }
              build.sort((a, b) => a - b); draw.sort((a, b) => a - b);
              return JSON.stringify({ occurrences: s.occurrences, callersNodes: s.callers.nodeCount, calleesNodes: s.callees.nodeCount, buildMedianMs: build[5], drawBothMedianMs: draw[5] });
            }
            """, fn);
        var report = $"sandwich of {fn} in a {ui.Host.SyntheticNodeCount}-node flame graph: {json}";
        TestContext.Current.TestOutputHelper?.WriteLine(report);
        await File.WriteAllTextAsync(Path.Combine(ui.ScreenshotDir, "..", "sandwich-10k.txt"), report + Environment.NewLine, TestContext.Current.CancellationToken);
        await page.ScreenshotAsync(new() { Path = Shot("11-synthetic-10k-sandwich"), FullPage = false });

        // The PNG export holds both graphs: callers above callees.
        await page.ClickAsync("#export summary");
        var download = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("button[data-export=png]"));
        var png = await File.ReadAllBytesAsync((await download.PathAsync())!, TestContext.Current.CancellationToken);
        var height = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20, 4)); // IHDR height
        Assert.Equal(await page.EvalAsync<int>("() => window.pyroscopeUI.callersFlame.canvas.height + window.pyroscopeUI.calleesFlame.canvas.height"), height);
    }
}
