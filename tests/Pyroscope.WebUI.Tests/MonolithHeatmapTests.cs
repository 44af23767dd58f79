using System.Text.Json;
using Microsoft.Playwright;
using static Pyroscope.WebUI.Tests.PageHelpers;

namespace Pyroscope.WebUI.Tests;

/// <summary>
/// The heatmap view and the list of individual profiles against the real monolith, on five scaled copies of
/// go-cpu pushed one by one at known times (<see cref="PushedProfile.HeatmapSet"/>); expected totals come from
/// decoding what was pushed.
/// </summary>
public sealed partial class MonolithUiTests
{
    private sealed record HeatCell(long From, long Slot, int Bucket, double YMin, double YMax, int Count, string Profile, long Value, long Time);

    private static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = true };

    private async Task<IPage> OpenHeatmapAsync()
    {
        var page = await ui.NewPageAsync(monolith.Url);
        page.PageError += (_, e) => throw new InvalidOperationException("page error: " + e);
        var query = Q($"{TestApiHost.CpuType}{{service_name=\"{MonolithFixture.HeatmapService}\"}}");
        await page.GotoAsync($"/?view=heatmap&query={query}&from={monolith.HeatmapFromMs}&until={monolith.HeatmapUntilMs}");
        await page.WaitForFunctionAsync("() => window.pyroscopeUI && window.pyroscopeUI.heatmap.listing");
        await page.WaitForModelAsync();
        return page;
    }

    private static async Task<HeatCell[]> CellsAsync(IPage page) =>
        JsonSerializer.Deserialize<HeatCell[]>(await page.Locator("#heatmap rect.cell").EvaluateAllAsync<string>("""
            els => JSON.stringify(els.map(e => ({ from: Number(e.dataset.from), slot: Number(e.dataset.slot), bucket: Number(e.dataset.bucket),
              yMin: Number(e.dataset.ymin), yMax: Number(e.dataset.ymax), count: Number(e.dataset.count),
              profile: e.dataset.profile || '', value: Number(e.dataset.value || 0), time: Number(e.dataset.time || 0) })))
            """), Json)!;

    private static bool InCell(HeatCell c, PushedProfile p) =>
        p.TimestampMs > c.From && p.TimestampMs <= c.Slot && p.Total >= c.YMin && (p.Total < c.YMax || (c.Bucket == 19 && p.Total <= c.YMax));

    /// <summary>Clicks a point of the element where it is the topmost element (an exemplar dot may cover the middle of a cell).</summary>
    private static async Task ClickUncoveredAsync(IPage page, ILocator element)
    {
        var at = await element.EvaluateAsync<double[]?>("""
            el => {
              const r = el.getBoundingClientRect();
              for (let fy = 0.1; fy < 1; fy += 0.2) for (let fx = 0.1; fx < 1; fx += 0.2) {
                const x = r.left + r.width * fx, y = r.top + r.height * fy;
                if (document.elementFromPoint(x, y) === el) return [x, y];
              }
              return null;
            }
            """) ?? throw new Xunit.Sdk.XunitException("the element is covered everywhere");
        await page.Mouse.ClickAsync((float)at[0], (float)at[1]);
    }

    private static async Task WaitForProfileAsync(IPage page, string profileId)
    {
        await page.WaitForFunctionAsync($"() => new URLSearchParams(location.search).get('profile') === {JsonSerializer.Serialize(profileId)}");
        await page.WaitForModelAsync();
    }

    /// <summary>The listed profile id of a pushed profile, found by its time (the server assigns ids on ingest).</summary>
    private static async Task<string> ListedIdAsync(IPage page, PushedProfile p) =>
        await page.Locator($"#profile-list tr[data-time='{p.TimestampMs}']").GetAttributeAsync("data-profile")
        ?? throw new Xunit.Sdk.XunitException($"no listed profile at {p.TimestampMs}");

    [Fact]
    public async Task Heatmap_cells_count_the_pushed_profiles_at_their_time_and_value()
    {
        var pushed = monolith.HeatmapProfiles;
        var page = await OpenHeatmapAsync();
        await Assertions.Expect(page.Locator("#view-heatmap")).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("active"));
        await Assertions.Expect(page.Locator(".timeline-panel")).ToBeHiddenAsync();
        var cells = await CellsAsync(page);

        Assert.Equal(pushed.Count, cells.Sum(c => c.Count));
        // 30 s slots on the hour's grid, 20 value buckets from the smallest total to the largest.
        Assert.All(cells, c => Assert.Equal(30_000, c.Slot - c.From));
        Assert.All(cells, c => Assert.Equal(0, (c.Slot - monolith.HeatmapFromMs) % 30_000));
        Assert.Equal(pushed.Min(p => p.Total), cells.Min(c => c.YMin), 0);
        Assert.Equal(pushed.Max(p => p.Total), cells.Max(c => c.YMax), 0);
        foreach (var c in cells)
        {
            // Each cell counts exactly the pushed profiles in its time × value box; its exemplar is the largest of them.
            var inside = pushed.Where(p => InCell(c, p)).ToList();
            Assert.Equal(inside.Count, c.Count);
            var top = inside.MaxBy(p => p.Total)!;
            Assert.Equal(top.Total, c.Value);
            Assert.Equal(top.TimestampMs, c.Time);
        }
        Assert.All(pushed, p => Assert.Single(cells, c => InCell(c, p)));
        // ×3 and ×3.05 (same slot, same bucket) share a cell; ×2 in that slot has its own, lower one.
        var crowded = Assert.Single(cells, c => c.Count == 2);
        Assert.Equal(pushed[3].Total, crowded.Value);
        var below = Assert.Single(cells, c => c.Slot == crowded.Slot && c.Count == 1);
        Assert.True(below.Bucket < crowded.Bucket);
        // Placement on screen follows time (x) and value (y, larger values higher up).
        var boxes = await page.Locator("#heatmap rect.cell").EvaluateAllAsync<double[][]>("els => els.map(e => { const r = e.getBoundingClientRect(); return [Number(e.dataset.slot), Number(e.dataset.bucket), r.left, r.top]; })");
        foreach (var a in boxes)
            foreach (var b in boxes)
            {
                if (a[0] < b[0]) Assert.True(a[2] < b[2], "a later slot is drawn further right");
                if (a[1] < b[1]) Assert.True(a[3] > b[3], "a higher bucket is drawn higher up");
            }
        Assert.Equal(cells.Length, await page.Locator("#heatmap circle.exemplar").CountAsync());
        // With no profile chosen the flame graph is every profile of the range merged.
        Assert.Equal(pushed.Sum(p => p.Total), await page.EvalAsync<long>("() => window.pyroscopeUI.model.total"));
        await page.ScreenshotAsync(new() { Path = Shot("heatmap"), FullPage = true });
    }

    [Fact]
    public async Task Clicking_a_heatmap_cell_or_an_exemplar_opens_that_single_profile()
    {
        var pushed = monolith.HeatmapProfiles;
        var page = await OpenHeatmapAsync();
        var (x3, x305, x4) = (pushed[2], pushed[3], pushed[4]);
        var id305 = await ListedIdAsync(page, x305);

        // The crowded cell: its exemplar (the ×3.05 profile) opens, and the list narrows to the cell's two profiles.
        await ClickUncoveredAsync(page, page.Locator("#heatmap rect.cell[data-count='2']"));
        await WaitForProfileAsync(page, id305);
        Assert.Equal(x305.Total, await page.EvalAsync<long>("() => window.pyroscopeUI.model.total"));
        Assert.Contains($"profile {id305}", await page.InnerTextAsync("#flame-title"));
        var rows = page.Locator("#profile-list tbody tr[data-profile]");
        Assert.Equal(new[] { x305.TimestampMs, x3.TimestampMs }, await rows.EvaluateAllAsync<long[]>("els => els.map(e => Number(e.dataset.time))"));
        await Assertions.Expect(page.Locator(".cell-filter")).ToContainTextAsync("2 profiles");
        await Assertions.Expect(page.Locator($"#profile-list tr.selected[data-profile='{id305}']")).ToHaveCountAsync(1);
        await page.ScreenshotAsync(new() { Path = Shot("heatmap-cell"), FullPage = true });

        // An exemplar dot opens its profile too.
        var id4 = await page.Locator($"#heatmap rect.cell[data-time='{x4.TimestampMs}']").GetAttributeAsync("data-profile");
        await page.Locator($"#heatmap circle.exemplar[data-profile='{id4}']").ClickAsync();
        await WaitForProfileAsync(page, id4!);
        Assert.Equal(x4.Total, await page.EvalAsync<long>("() => window.pyroscopeUI.model.total"));
        await Assertions.Expect(page.Locator($"#heatmap circle.exemplar.selected[data-profile='{id4}']")).ToHaveCountAsync(1);

        // The link reopens the same profile; "merged" goes back to all of them.
        var again = await ui.NewPageAsync(monolith.Url);
        await again.GotoAsync(page.Url);
        await again.WaitForFunctionAsync("() => window.pyroscopeUI && window.pyroscopeUI.heatmap.listing");
        await again.WaitForModelAsync();
        Assert.Equal(x4.Total, await again.EvalAsync<long>("() => window.pyroscopeUI.model.total"));
        await page.ClickAsync("#heatmap-merged");
        await page.WaitForFunctionAsync("() => !new URLSearchParams(location.search).has('profile')");
        await page.WaitForModelAsync();
        Assert.Equal(pushed.Sum(p => p.Total), await page.EvalAsync<long>("() => window.pyroscopeUI.model.total"));
    }

    [Fact]
    public async Task Profile_list_holds_every_pushed_profile_and_each_opens_exports_as_pprof_and_compares_with_the_merged_view()
    {
        var pushed = monolith.HeatmapProfiles;
        var page = await OpenHeatmapAsync();
        var rows = page.Locator("#profile-list tbody tr[data-profile]");
        var newestFirst = pushed.OrderByDescending(p => p.TimestampMs).ToArray();
        Assert.Equal(newestFirst.Select(p => p.TimestampMs), await rows.EvaluateAllAsync<long[]>("els => els.map(e => Number(e.dataset.time))"));
        Assert.Equal(newestFirst.Select(p => p.Total), await rows.EvaluateAllAsync<long[]>("els => els.map(e => Number(e.dataset.value))"));
        var ids = await rows.EvaluateAllAsync<string[]>("els => els.map(e => e.dataset.profile)");
        Assert.Equal(ids.Length, ids.Distinct().Count());
        for (var i = 0; i < newestFirst.Length; i++)
            Assert.Contains($"pod={newestFirst[i].Pod}", await rows.Nth(i).Locator("td.labels").InnerTextAsync());
        // ×3 and ×3.05 share a heatmap cell: listing them took at least one finer query.
        Assert.True(await page.EvalAsync<int>("() => window.pyroscopeUI.heatmap.listing.queries") >= 1);
        Assert.Equal(0, await page.EvalAsync<int>("() => window.pyroscopeUI.heatmap.listing.unresolved"));

        await page.SelectOptionAsync("#profile-list select[data-list=sort]", "value");
        Assert.Equal(pushed.Max(p => p.Total), long.Parse((await rows.First.GetAttributeAsync("data-value"))!, System.Globalization.CultureInfo.InvariantCulture));

        // Open: the smallest profile alone.
        var first = pushed[0];
        var firstId = await ListedIdAsync(page, first);
        await page.Locator($"#profile-list tr[data-profile='{firstId}'] button[data-action=open]").ClickAsync();
        await WaitForProfileAsync(page, firstId);
        Assert.Equal(first.Total, await page.EvalAsync<long>("() => window.pyroscopeUI.model.total"));

        // pprof: the ×2 profile alone, as a gzipped pprof whose cpu samples sum to its total.
        var second = pushed[1];
        var secondId = await ListedIdAsync(page, second);
        var download = await page.RunAndWaitForDownloadAsync(() => page.Locator($"#profile-list tr[data-profile='{secondId}'] button[data-action=pprof]").ClickAsync());
        Assert.Contains(secondId, download.SuggestedFilename);
        using (var gz = new System.IO.Compression.GZipStream(File.OpenRead((await download.PathAsync())!), System.IO.Compression.CompressionMode.Decompress))
        {
            var profile = Pyroscope.Contracts.Google.V1.Profile.Parser.ParseFrom(gz);
            var cpu = Array.IndexOf(FixtureProfiles.SampleTypes(profile), "cpu:nanoseconds");
            Assert.True(cpu >= 0, "the export has a cpu:nanoseconds sample type");
            Assert.Equal(second.Total, FixtureProfiles.Stacks(profile).Sum(s => s.Values[cpu]));
        }

        // Compare: the diff view with the merged range as baseline and the ×3 profile alone as comparison.
        var third = pushed[2];
        var thirdId = await ListedIdAsync(page, third);
        await page.Locator($"#profile-list tr[data-profile='{thirdId}'] button[data-action=compare]").ClickAsync();
        await page.WaitForFunctionAsync($"() => new URLSearchParams(location.search).get('view') === 'diff' && new URLSearchParams(location.search).get('rightProfile') === '{thirdId}'");
        await page.WaitForModelAsync();
        Assert.Equal(pushed.Sum(p => p.Total), await page.EvalAsync<long>("() => window.pyroscopeUI.model.leftTicks"));
        Assert.Equal(third.Total, await page.EvalAsync<long>("() => window.pyroscopeUI.model.rightTicks"));
        await Assertions.Expect(page.Locator("#right-range")).ToContainTextAsync(thirdId);
        await page.ScreenshotAsync(new() { Path = Shot("heatmap-compare"), FullPage = true });
    }
}
