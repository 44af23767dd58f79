using System.Text.Json;

namespace Pyroscope.WebUI.Tests;

/// <summary>
/// The heatmap modules on known inputs in the browser: the profile listing's refinement against a stand-in for
/// SelectHeatmap that follows the server's rules (right-closed slots read from one step before start, 20 value
/// buckets over the points asked for, the highest-valued profile per cell as exemplar), and the grid merge.
/// The real server is exercised by <see cref="MonolithUiTests"/>.
/// </summary>
public sealed class HeatmapModuleTests(UiFixture ui)
{
    private const string StandIn = """
        const standIn = (points, log) => async (start, end, stepS) => {
          log.push([start, end, stepS]);
          const step = Math.max(1, Math.min(Math.round(stepS * 1000), end - start + 1));
          const pts = points.filter((p) => p.t >= start - step && p.t <= end);
          if (!pts.length) return [];
          let min = Math.min(...pts.map((p) => p.v)), max = Math.max(...pts.map((p) => p.v));
          if (min === max) max = min + 1;
          const mins = []; for (let i = 0; i < 20; i++) mins.push(min + Math.floor(i * (max - min) / 20));
          const bucket = (v) => { let b = 0; for (let i = 0; i < 20; i++) if (v >= mins[i]) b = i; return b; };
          const off = ((start % step) + step) % step;
          const up = (t) => { let x = t - off; const r = ((x % step) + step) % step; if (r) x += step - r; return x + off; };
          const last = up(end), slots = new Map();
          for (const p of pts) {
            const ts = Math.min(Math.max(up(p.t), start), last);
            if (!slots.has(ts)) slots.set(ts, { timestamp: ts, yMin: mins, counts: new Array(20).fill(0), best: new Map() });
            const slot = slots.get(ts), b = bucket(p.v);
            slot.counts[b]++;
            if (!slot.best.has(b) || p.v > slot.best.get(b).value) slot.best.set(b, { timestamp: p.t, profileId: p.id, value: p.v, labels: [{ name: 'pod', value: p.pod }] });
          }
          return [{ labels: [], slots: [...slots.values()].sort((a, b) => a.timestamp - b.timestamp)
            .map((x) => ({ timestamp: x.timestamp, yMin: x.yMin, counts: x.counts, exemplars: [...x.best].sort((a, b) => a[0] - b[0]).map((e) => e[1]) })) }];
        };
        """;

    private async Task<JsonElement> RunAsync(string body)
    {
        var page = await ui.NewPageAsync();
        await page.GotoAsync("/?tenant=empty");
        await page.WaitForFunctionAsync("() => window.pyroscopeUI");
        var json = await page.EvaluateAsync<string>("async () => {\n" + StandIn + body + "\n}");
        return JsonDocument.Parse(json).RootElement.Clone();
    }

    [Fact]
    public async Task Listing_refines_crowded_slots_until_every_profile_is_named_and_counts_what_cannot_be_split()
    {
        var r = await RunAsync("""
            const { listProfiles } = await import('/assets/profiles.js');
            const now = 1700000000000, from = now - 3600000, points = [];
            // 600 profiles of two pods, one every 6 s (five or so per 30 s slot, most in the same value bucket) ...
            for (let i = 0; i < 600; i++) points.push({ t: from + i * 6000 + (i % 7), v: 1000 + (i * 37) % 50, pod: i % 3 ? 'a' : 'b', id: 'p' + i });
            // ... one just before the range (the first slot holds it), two at the same millisecond and value, and one
            // so large that the 20 value buckets of the whole hour put all the others in the lowest.
            points.push({ t: from - 10, v: 1020, pod: 'a', id: 'early' }, { t: now - 1000, v: 1010, pod: 'a', id: 'twin1' }, { t: now - 1000, v: 1010, pod: 'b', id: 'twin2' },
              { t: from + 1800001, v: 100000, pod: 'b', id: 'big' });
            const log = [], ask = standIn(points, log);
            const all = await listProfiles(ask, await ask(from, now, 30), 30000);
            const asked = log.length;
            const capped = await listProfiles(ask, await ask(from, now, 30), 30000, { maxQueries: 0 });
            const ids = new Set(all.profiles.map((p) => p.profileId));
            const sample = all.profiles.find((p) => p.profileId === 'p7');
            return JSON.stringify({
              listed: all.profiles.length, missing: points.filter((p) => !ids.has(p.id)).map((p) => p.id), unresolved: all.unresolved,
              queries: all.queries, truncated: all.truncated, steps: log.slice(1, asked).map((l) => l[2]),
              sample: [sample.timestamp, sample.value, sample.labels[0].value],
              capped: [capped.profiles.length, capped.truncated, capped.queries],
            });
            """);
        // Every profile but one of the twins is named; the other twin is counted, not lost silently.
        Assert.Equal(603, r.GetProperty("listed").GetInt32());
        var missing = r.GetProperty("missing").EnumerateArray().Select(e => e.GetString()).ToArray();
        Assert.Single(missing);
        Assert.StartsWith("twin", missing[0]);
        Assert.Equal(1, r.GetProperty("unresolved").GetInt32());
        Assert.False(r.GetProperty("truncated").GetBoolean());
        // Finer steps each round (30 s → 750 ms → 19 ms → 1 ms at most), a handful of queries, not one per slot.
        Assert.InRange(r.GetProperty("queries").GetInt32(), 1, 10);
        Assert.All(r.GetProperty("steps").EnumerateArray(), s => Assert.True(s.GetDouble() < 30));
        Assert.Equal("[1699996442000,1009,\"a\"]", r.GetProperty("sample").GetRawText());
        // Without a query budget crowded cells give their exemplars only, and the listing says it is incomplete.
        var capped = r.GetProperty("capped");
        Assert.InRange(capped[0].GetInt32(), 100, 200);
        Assert.True(capped[1].GetBoolean());
        Assert.Equal(0, capped[2].GetInt32());
    }

    [Fact]
    public async Task Grid_merge_adds_counts_per_cell_and_keeps_the_largest_exemplar_found_by_value_and_steps_survive_the_trip()
    {
        var r = await RunAsync("""
            const { mergeHeatmap, bucketOf, heatmapStep } = await import('/assets/heatmap.js');
            const { exactStep } = await import('/assets/profiles.js');
            const yMin = Array.from({ length: 20 }, (_, i) => 100 + i * 10);
            const slot = (ts, counts, exemplars) => ({ timestamp: ts, yMin, counts: Array.from({ length: 20 }, (_, i) => counts[i] || 0), exemplars });
            const ex = (id, value, ts) => ({ profileId: id, value, timestamp: ts, labels: [] });
            const g = mergeHeatmap([
              { labels: [{ name: 'pod', value: 'a' }], slots: [slot(60000, { 0: 1, 19: 2 }, [ex('a0', 105, 59000), ex('a19', 300, 58000)])] },
              { labels: [{ name: 'pod', value: 'b' }], slots: [slot(60000, { 19: 1 }, [ex('b19', 320, 59500)]), slot(90000, { 5: 1 }, [ex('b5', 151, 80000)])] },
            ], 30000);
            return JSON.stringify({
              cells: g.cells.map((c) => [c.slot, c.bucket, c.count, c.exemplar.profileId, c.exemplar.labels.map((l) => l.value).join()]),
              yMax: g.yMax, total: g.total, buckets: [bucketOf(99, yMin), bucketOf(100, yMin), bucketOf(109.9, yMin), bucketOf(290, yMin), bucketOf(1e9, yMin)],
              steps: [heatmapStep(0, 3600000), heatmapStep(0, 60000), heatmapStep(0, 86400000)],
              exact: [exactStep(1), exactStep(750), exactStep(1001), exactStep(2002)],
            });
            """);
        Assert.Equal("""[[60000,0,1,"a0","a"],[60000,19,3,"b19","b"],[90000,5,1,"b5","b"]]""", r.GetProperty("cells").GetRawText());
        Assert.Equal(320, r.GetProperty("yMax").GetDouble());
        Assert.Equal(5, r.GetProperty("total").GetInt32());
        Assert.Equal("[-1,0,0,19,19]", r.GetProperty("buckets").GetRawText());
        Assert.Equal("[30,1,720]", r.GetProperty("steps").GetRawText());
        // Refined steps the server reads back as sent (it truncates seconds × 1000; 1.001 s would come back as 1000 ms).
        Assert.Equal("[1,750,1002,2003]", r.GetProperty("exact").GetRawText());
    }
}
