using Microsoft.Playwright;
using static Pyroscope.WebUI.Tests.PageHelpers;

namespace Pyroscope.WebUI.Tests;

/// <summary>Tag explorer and sandwich view against the real monolith; expected numbers from decoding the fixtures.</summary>
public sealed partial class MonolithUiTests
{
    private static readonly string TagsQuery = $"{TestApiHost.CpuType}{{service_name=\"{MonolithFixture.TagsService}\"}}";

    [Fact]
    public async Task Tag_explorer_shows_one_line_and_row_per_label_value_and_a_value_filters_the_flame_graph()
    {
        var expected = new Dictionary<string, (long Total, string Hottest)>();
        foreach (var (env, fixture) in MonolithFixture.EnvFixtures)
        {
            var (samples, cpu) = Expected.CpuFixture(fixture);
            long total = 0;
            foreach (var s in samples) total += s.Values[cpu];
            expected[env] = (total, Expected.HottestSelf(samples, cpu).Name);
        }
        var grand = expected.Values.Sum(v => v.Total);
        var byTotal = expected.OrderByDescending(kv => kv.Value.Total).Select(kv => kv.Key).ToArray();

        var page = await ui.NewPageAsync(monolith.Url);
        page.PageError += (_, e) => throw new InvalidOperationException("page error: " + e);
        await page.GotoAsync($"/?view=explore&query={Q(TagsQuery)}&from=now-1h&until=now&groupBy=env");
        await page.WaitForModelAsync();
        await Assertions.Expect(page.Locator("#view-explore")).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("active"));
        Assert.Equal("env", await page.InputValueAsync("#group-by"));
        var labels = await page.Locator("#group-by option").EvaluateAllAsync<string[]>("els => els.map(e => e.value)");
        Assert.Contains("env", labels);
        Assert.DoesNotContain(labels, l => l.StartsWith("__", StringComparison.Ordinal));

        // One row per value, largest first, with the decoded totals and shares.
        var rows = page.Locator("#explore-table tbody tr[data-value]");
        Assert.Equal(byTotal, await rows.EvaluateAllAsync<string[]>("els => els.map(e => e.dataset.value)"));
        var totals = await rows.EvaluateAllAsync<double[]>("els => els.map(e => Number(e.dataset.total))");
        var steps = await page.EvalAsync<double>("() => { const t = window.pyroscopeUI.timeline; return Math.ceil((t.until - t.from) / (Math.max(15, Math.round((t.until - t.from) / 1000 / 300)) * 1000)); }");
        for (var i = 0; i < byTotal.Length; i++)
        {
            Assert.Equal(expected[byTotal[i]].Total, (long)totals[i]);
            Assert.Contains(Expected.Percent(expected[byTotal[i]].Total, grand), await rows.Nth(i).Locator("td").Nth(2).InnerTextAsync());
            Assert.Equal(expected[byTotal[i]].Total / steps, await rows.Nth(i).EvaluateAsync<double>("e => Number(e.dataset.avg)"), 6);
        }
        // One legend entry and one timeline line per value; nothing left over for "other".
        Assert.Equal(byTotal, await page.Locator("#timeline-legend button[data-value]").EvaluateAllAsync<string[]>("els => els.map(e => e.dataset.value)"));
        Assert.Equal(byTotal.Length, await page.EvalAsync<int>("() => window.pyroscopeUI.timeline.series.length"));
        Assert.Null(await page.EvalAsync<object?>("() => window.pyroscopeUI.explore.other"));
        // No value chosen: the flame graph holds every value.
        Assert.Equal(grand, await page.EvalAsync<long>("() => window.pyroscopeUI.model.total"));
        await page.ScreenshotAsync(new() { Path = Shot("explore-env"), FullPage = true });

        // Clicking a table row narrows the flame graph to that value; the table's hottest function follows.
        var second = byTotal[1];
        await rows.Nth(1).ClickAsync();
        await page.WaitForFunctionAsync($"() => new URLSearchParams(location.search).get('groupByValue') === '{second}'");
        await page.WaitForFunctionAsync($"() => window.pyroscopeUI.model && window.pyroscopeUI.model.total === {expected[second].Total}");
        await page.WaitForModelAsync();
        Assert.Equal(expected[second].Hottest, await page.Locator("#table tbody tr").First.GetAttributeAsync("data-name"));
        Assert.Contains($"env=\"{second}\"", await page.InnerTextAsync("#flame-title"));
        await Assertions.Expect(page.Locator($"#explore-table tr.selected[data-value='{second}']")).ToHaveCountAsync(1);
        await page.ScreenshotAsync(new() { Path = Shot("explore-env-selected"), FullPage = true });

        // The legend does the same, and the URL alone restores the view.
        var first = byTotal[0];
        await page.ClickAsync($"#timeline-legend button[data-value='{first}']");
        await page.WaitForFunctionAsync($"() => window.pyroscopeUI.model && window.pyroscopeUI.model.total === {expected[first].Total}");
        await page.WaitForModelAsync();
        Assert.Equal(expected[first].Hottest, await page.Locator("#table tbody tr").First.GetAttributeAsync("data-name"));
        var again = await ui.NewPageAsync(monolith.Url);
        await again.GotoAsync(page.Url);
        await again.WaitForModelAsync();
        Assert.Equal(expected[first].Total, await again.EvalAsync<long>("() => window.pyroscopeUI.model.total"));
        Assert.Equal(first, await again.EvalAsync<string>("() => window.pyroscopeUI.state.groupByValue"));

        // Clicking the chosen value again shows all values.
        await page.ClickAsync($"#timeline-legend button[data-value='{first}']");
        await page.WaitForFunctionAsync($"() => window.pyroscopeUI.model && window.pyroscopeUI.model.total === {grand} && !new URLSearchParams(location.search).has('groupByValue')");
    }

    [Fact]
    public async Task Sandwich_view_shows_callers_and_callees_whose_roots_equal_the_function_total()
    {
        var total = Expected.Total();
        // A function with several callers (none of them itself), picked from the decoded stacks.
        var several = Expected.Functions().Where(f => !Expected.IsRecursive(f))
            .OrderByDescending(f => Expected.NeighboursOf(f, -1).Count(kv => kv.Value > 0))
            .ThenByDescending(Expected.TotalOf).ThenBy(f => f, StringComparer.Ordinal).First();
        var callers = Expected.NeighboursOf(several, -1).Where(kv => kv.Value > 0).ToDictionary();
        Assert.True(callers.Count >= 2, $"{several} should have several callers");

        var page = await OpenCpuViewAsync();
        // Right-click its table row, then "Sandwich view".
        await page.FillAsync("#search", several);
        await page.ClickAsync($"#table tr[data-name='{several}']", new() { Button = MouseButton.Right });
        await page.ClickAsync("#context-menu button[data-action=sandwich]");
        await page.WaitForFunctionAsync("() => new URLSearchParams(location.search).has('sandwich')");
        Assert.Equal(several, System.Web.HttpUtility.ParseQueryString(new Uri(page.Url).Query)["sandwich"]);
        await Assertions.Expect(page.Locator("#sandwich")).ToBeVisibleAsync();
        Assert.True(await page.Locator("#flamegraph").IsHiddenAsync());

        Assert.Equal(new Dictionary<string, long> { [several] = Expected.TotalOf(several) }, await page.LevelAsync("callersFlame", 0));
        Assert.Equal(new Dictionary<string, long> { [several] = Expected.TotalOf(several) }, await page.LevelAsync("calleesFlame", 0));
        Assert.Equal(callers, await page.LevelAsync("callersFlame", 1));
        Assert.Equal(Expected.NeighboursOf(several, +1).Where(kv => kv.Value > 0).ToDictionary(), await page.LevelAsync("calleesFlame", 1));

        // The callers graph is upside down: the function is its bottom row; its tooltip has the share of the profile.
        var root = await page.NodeCenterAsync(several, "callersFlame") ?? throw new Xunit.Sdk.XunitException("callers root not drawn");
        var box = (await page.Locator("#sandwich-callers canvas.flamegraph-canvas").BoundingBoxAsync())!;
        Assert.True(root.Y > box.Y + box.Height - 20, "the function is the callers graph's bottom row");
        await page.Mouse.MoveAsync(root.X, root.Y);
        var tooltip = page.Locator("#sandwich-callers .tooltip");
        await Assertions.Expect(tooltip).ToBeVisibleAsync();
        await Assertions.Expect(tooltip).ToContainTextAsync(several);
        await Assertions.Expect(tooltip).ToContainTextAsync(Expected.Percent(Expected.TotalOf(several), total));

        // Search greys out non-matching frames in both graphs: the function itself does not match a caller's name.
        var caller = callers.MaxBy(kv => kv.Value).Key;
        var calleeRoot = await page.NodeCenterAsync(several, "calleesFlame") ?? throw new Xunit.Sdk.XunitException("callees root not drawn");
        await page.FillAsync("#search", caller);
        await page.WaitForFunctionAsync($"() => window.pyroscopeUI.calleesFlame.search === {System.Text.Json.JsonSerializer.Serialize(caller.ToLowerInvariant())}");
        var rootPixel = await page.PixelAsync(calleeRoot.X, calleeRoot.Y, "calleesFlame");
        Assert.Equal(new[] { 228, 228, 228 }, rootPixel);
        var callerAt = await page.NodeCenterAsync(caller, "callersFlame") ?? throw new Xunit.Sdk.XunitException($"{caller} not drawn");
        var callerPixel = await page.PixelAsync(callerAt.X, callerAt.Y, "callersFlame");
        Assert.NotEqual(new[] { 228, 228, 228 }, callerPixel);
        await page.ScreenshotAsync(new() { Path = Shot("sandwich-search"), FullPage = true });
        await page.FillAsync("#search", "");

        // Click zooms in the callers graph.
        await page.Mouse.ClickAsync(callerAt.X, callerAt.Y);
        Assert.True(await page.EvalAsync<int>("() => window.pyroscopeUI.callersFlame.zoom.level") > 0);
        await page.ScreenshotAsync(new() { Path = Shot("sandwich-several-callers"), FullPage = true });

        // A recursive function, chosen by right-clicking its frame in the flame graph: counted once per stack.
        var recursive = Expected.Functions().Where(Expected.IsRecursive).OrderByDescending(Expected.TotalOf).ThenBy(f => f, StringComparer.Ordinal).First();
        Assert.True(Expected.FrameSumOf(recursive) > Expected.TotalOf(recursive));
        await page.ClickAsync("#sandwich-close");
        await Assertions.Expect(page.Locator("#flamegraph")).ToBeVisibleAsync();
        var at = await page.NodeCenterAsync(recursive) ?? throw new Xunit.Sdk.XunitException($"{recursive} not drawn");
        await page.Mouse.ClickAsync(at.X, at.Y, new() { Button = MouseButton.Right });
        await page.ClickAsync("#context-menu button[data-action=sandwich]");
        await page.WaitForFunctionAsync($"() => window.pyroscopeUI.sandwich && window.pyroscopeUI.state.sandwich === {System.Text.Json.JsonSerializer.Serialize(recursive)}");
        Assert.Equal(Expected.TotalOf(recursive), (await page.LevelAsync("callersFlame", 0))[recursive]);
        Assert.Equal(Expected.TotalOf(recursive), (await page.LevelAsync("calleesFlame", 0))[recursive]);
        Assert.Equal(Expected.NeighboursOf(recursive, -1).Where(kv => kv.Value > 0).ToDictionary(), await page.LevelAsync("callersFlame", 1));
        await page.ScreenshotAsync(new() { Path = Shot("sandwich-recursive"), FullPage = true });

        // The link restores the sandwich.
        var again = await ui.NewPageAsync(monolith.Url);
        await again.GotoAsync(page.Url);
        await again.WaitForModelAsync();
        await again.WaitForFunctionAsync("() => window.pyroscopeUI.sandwich");
        Assert.Equal(Expected.TotalOf(recursive), await again.EvalAsync<long>("() => window.pyroscopeUI.sandwich.total"));
        await Assertions.Expect(again.Locator("#sandwich-name")).ToHaveTextAsync(recursive);
    }
}
