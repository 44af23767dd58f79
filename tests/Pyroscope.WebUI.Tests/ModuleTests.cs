using System.Text.Json;

namespace Pyroscope.WebUI.Tests;

/// <summary>The UI's pure modules (decoding, selectors, time parsing), run in the browser on known inputs.</summary>
public sealed class ModuleTests(UiFixture ui)
{
    private async Task<Microsoft.Playwright.IPage> PageAsync()
    {
        var page = await ui.NewPageAsync();
        await page.GotoAsync("/?tenant=empty");
        await page.WaitForFunctionAsync("() => window.pyroscopeUI");
        return page;
    }

    [Fact]
    public async Task Flamebearer_example_from_the_protocol_decodes_to_absolute_positions_table_and_collapsed()
    {
        var page = await PageAsync();
        // PROTOCOL.md: stacks foo;bar 100 and foo;baz 200.
        var json = await page.EvaluateAsync<string>("""
            async () => {
              const { FlameModel } = await import('/assets/flamemodel.js');
              const m = new FlameModel({ names: ['total', 'foo', 'baz', 'bar'], levels: [[0, 300, 0, 0], [0, 300, 0, 1], [0, 100, 100, 3, 0, 200, 200, 2]], numTicks: 300 }, false);
              const lv = m.levels[2];
              return JSON.stringify({ total: m.total, x: [...lv.x], parents: [...lv.parent], at150: m.nodeAt(2, 150), stack: m.stackOf(2, 1),
                table: m.topTable().sort((a, b) => a.name < b.name ? -1 : 1).map(r => [r.name, r.self, r.total]), collapsed: m.collapsed() });
            }
            """);
        using var doc = JsonDocument.Parse(json);
        var r = doc.RootElement;
        Assert.Equal(300, r.GetProperty("total").GetInt64());
        Assert.Equal([0.0, 100.0], r.GetProperty("x").EnumerateArray().Select(e => e.GetDouble()));
        Assert.Equal([0, 0], r.GetProperty("parents").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(1, r.GetProperty("at150").GetInt32());
        Assert.Equal(["foo", "baz"], r.GetProperty("stack").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("[[\"bar\",100,100],[\"baz\",200,200],[\"foo\",0,300]]", r.GetProperty("table").GetRawText());
        Assert.Equal("foo;bar 100\nfoo;baz 200\n", r.GetProperty("collapsed").GetString());
    }

    [Fact]
    public async Task Diff_levels_from_the_fixture_tree_decode_with_both_sides_consistent()
    {
        // Left = handler=hash samples, right = handler=math samples, encoded by the test's own FlameTree.
        var left = new FlameTree();
        var right = new FlameTree();
        foreach (var s in Expected.GoCpu)
        {
            var h = s.Labels.GetValueOrDefault("handler");
            if (h == "hash") left.Add(s.Frames, s.Values[Expected.CpuNs]);
            else if (h == "math") right.Add(s.Frames, s.Values[Expected.CpuNs]);
        }
        var (names, levels, _) = FlameTree.Diff(left, right);
        var payload = JsonSerializer.Serialize(new { names, levels, leftTicks = left.Root.Total, rightTicks = right.Root.Total });
        var page = await PageAsync();
        var result = await page.EvaluateAsync<string>("""
            async (payload) => {
              const { FlameModel } = await import('/assets/flamemodel.js');
              const fb = JSON.parse(payload);
              const m = new FlameModel(fb, true);
              // Every child must lie inside its parent on both sides, and the row sums must not exceed the root.
              let bad = 0;
              for (let d = 1; d < m.levels.length; d++) {
                const lv = m.levels[d], up = m.levels[d - 1];
                for (let i = 0; i < lv.n; i++) {
                  const p = lv.parent[i];
                  if (p < 0 || lv.x[i] < up.x[p] || lv.x[i] + lv.total[i] > up.x[p] + up.total[p]) bad++;
                }
              }
              const rows = m.topTable();
              const sha = rows.find(r => r.name === 'crypto/sha256.block');
              return JSON.stringify({ bad, left: m.leftTicks, right: m.rightTicks, rootL: m.levels[0].lTotal[0], rootR: m.levels[0].rTotal[0], shaL: sha.lSelf, shaR: sha.rSelf });
            }
            """, payload);
        using var doc = JsonDocument.Parse(result);
        var r = doc.RootElement;
        Assert.Equal(0, r.GetProperty("bad").GetInt32());
        Assert.Equal(left.Root.Total, r.GetProperty("left").GetInt64());
        Assert.Equal(right.Root.Total, r.GetProperty("rootR").GetInt64());
        Assert.Equal(left.Root.Total, r.GetProperty("rootL").GetInt64());
        long shaHash = 0;
        foreach (var s in Expected.GoCpu)
            if (s.Labels.GetValueOrDefault("handler") == "hash" && s.Frames[^1] == "crypto/sha256.block") shaHash += s.Values[Expected.CpuNs];
        Assert.Equal(shaHash, r.GetProperty("shaL").GetInt64());
        Assert.Equal(0, r.GetProperty("shaR").GetInt64());
    }

    [Fact]
    public async Task Sandwich_of_a_recursive_function_counts_each_stack_once()
    {
        // c recurses in a;c;b;c and is a root frame in "c": callers and callees come from its outermost frame.
        string[][] stacks = [["a", "b", "c"], ["a", "c", "d"], ["a", "c", "b", "c"], ["c"], ["a", "d"]];
        long[] values = [10, 20, 5, 7, 100];
        var tree = new FlameTree();
        for (var i = 0; i < stacks.Length; i++) tree.Add(stacks[i], values[i]);
        var (names, levels, _) = tree.Single();

        // Expected from the stacks alone: path strings (root-first for callees, function-first upwards for callers).
        var callers = new Dictionary<string, long>(StringComparer.Ordinal);
        var callees = new Dictionary<string, long>(StringComparer.Ordinal);
        long total = 0, self = 0;
        for (var i = 0; i < stacks.Length; i++)
        {
            var at = Array.IndexOf(stacks[i], "c");
            if (at < 0) continue;
            total += values[i];
            if (at == stacks[i].Length - 1) self += values[i];
            for (var k = at - 1; k >= 0; k--)
            {
                var path = string.Join(";", stacks[i][k..(at + 1)].Reverse());
                callers[path] = callers.GetValueOrDefault(path) + values[i];
            }
            for (var k = at + 1; k < stacks[i].Length; k++)
            {
                var path = string.Join(";", stacks[i][at..(k + 1)]);
                callees[path] = callees.GetValueOrDefault(path) + values[i];
            }
        }

        var page = await PageAsync();
        var json = await page.EvaluateAsync<string>("""
            async (fb) => {
              const { FlameModel } = await import('/assets/flamemodel.js');
              const { buildSandwich } = await import('/assets/sandwich.js');
              const m = new FlameModel(JSON.parse(fb), false);
              const s = buildSandwich(m, 'c');
              const paths = (g) => {
                const out = {};
                let bad = 0;
                for (let d = 1; d < g.levels.length; d++) {
                  const lv = g.levels[d], up = g.levels[d - 1];
                  for (let i = 0; i < lv.n; i++) {
                    const p = lv.parent[i];
                    if (p < 0 || lv.x[i] < up.x[p] || lv.x[i] + lv.total[i] > up.x[p] + up.total[p]) bad++;
                    const path = ['c'].concat(g.stackOf(d, i)).join(';');
                    out[path] = (out[path] || 0) + lv.total[i];
                  }
                }
                return { out, bad, root: g.levels[0].total[0], self: g.levels[0].self[0] };
              };
              return JSON.stringify({ total: s.total, occurrences: s.occurrences, callers: paths(s.callers), callees: paths(s.callees), missing: buildSandwich(m, 'zzz') });
            }
            """, JsonSerializer.Serialize(new { names, levels, numTicks = tree.Root.Total }));
        using var doc = JsonDocument.Parse(json);
        var r = doc.RootElement;
        Dictionary<string, long> Paths(string graph)
        {
            var d = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var p in r.GetProperty(graph).GetProperty("out").EnumerateObject()) d[p.Name] = p.Value.GetInt64();
            return d;
        }
        Assert.Equal(total, r.GetProperty("total").GetInt64());
        Assert.Equal(3, r.GetProperty("occurrences").GetInt32()); // a;b;c, a;c and c: the inner c of a;c;b;c is not one
        foreach (var graph in new[] { "callers", "callees" })
        {
            Assert.Equal(total, r.GetProperty(graph).GetProperty("root").GetInt64());
            Assert.Equal(self, r.GetProperty(graph).GetProperty("self").GetInt64());
            Assert.Equal(0, r.GetProperty(graph).GetProperty("bad").GetInt32());
        }
        Assert.Equal(callers, Paths("callers"));
        Assert.Equal(callees, Paths("callees"));
        Assert.Equal(JsonValueKind.Null, r.GetProperty("missing").ValueKind);
    }

    [Fact]
    public async Task Explore_groups_keep_the_top_lines_and_sum_the_rest_as_other_exactly()
    {
        // 12 values of "pod" over 3 steps, one series without the label (the "(no value)" group), and the
        // grouped answer cut at 11 series as a server limit would: the two smallest are only in the whole total.
        long[] timestamps = [1_000, 2_000, 3_000];
        var series = new List<(string? Pod, long[] Values)>();
        for (var k = 1; k <= 12; k++) series.Add(($"pod-{k}", timestamps.Select((_, s) => (long)k * (s + 1) * 1_000_000_007L).ToArray()));
        series.Add((null, [20_000_000_000, 0, 0]));
        var whole = timestamps.Select((_, s) => series.Sum(x => x.Values[s])).ToArray();
        var ranked = series.OrderByDescending(x => x.Values.Sum()).ToList();
        var cut = ranked.Take(11).ToList();
        var top = cut.Take(10).ToList();
        var other = timestamps.Select((_, s) => whole[s] - top.Sum(x => x.Values[s])).ToArray();
        var unlisted = whole.Sum() - cut.Sum(x => x.Values.Sum());

        object Json(string? pod, long[] v) => new
        {
            labels = pod is null ? Array.Empty<object>() : [new { name = "pod", value = pod }],
            points = timestamps.Select((t, s) => new { timestamp = t, value = v[s] }).Where(p => p.value != 0).ToArray(),
        };
        var payload = JsonSerializer.Serialize(new
        {
            total = new[] { Json(null, whole) },
            grouped = cut.Select(x => Json(x.Pod, x.Values)).Reverse().ToArray(),
        });
        var page = await PageAsync();
        var json = await page.EvaluateAsync<string>("""
            async (payload) => {
              const { exploreGroups } = await import('/assets/explore.js');
              const p = JSON.parse(payload);
              const r = exploreGroups(p.total, p.grouped, 'pod', 3);
              return JSON.stringify({ values: r.groups.map(g => g.value), inTimeline: r.groups.filter(g => g.inTimeline).length,
                totals: r.groups.map(g => g.total), grand: r.grand, avg0: r.groups[0].avg, share0: r.groups[0].share,
                other: r.other.points.sort((a, b) => a.timestamp - b.timestamp).map(q => q.value), otherTotal: r.other.total, unlisted: r.unlisted.total });
            }
            """, payload);
        using var doc = JsonDocument.Parse(json);
        var r = doc.RootElement;
        Assert.Equal(cut.Select(x => x.Pod ?? ""), r.GetProperty("values").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(10, r.GetProperty("inTimeline").GetInt32());
        Assert.Equal(cut.Select(x => x.Values.Sum()), r.GetProperty("totals").EnumerateArray().Select(e => (long)e.GetDouble()));
        Assert.Equal(whole.Sum(), (long)r.GetProperty("grand").GetDouble());
        Assert.Equal(cut[0].Values.Sum() / 3.0, r.GetProperty("avg0").GetDouble(), 3);
        Assert.Equal((double)cut[0].Values.Sum() / whole.Sum(), r.GetProperty("share0").GetDouble(), 12);
        Assert.Equal(other, r.GetProperty("other").EnumerateArray().Select(e => (long)e.GetDouble()));
        Assert.Equal(other.Sum(), (long)r.GetProperty("otherTotal").GetDouble());
        Assert.Equal(unlisted, (long)r.GetProperty("unlisted").GetDouble());
        Assert.True(unlisted > 0);
        Assert.Contains("", r.GetProperty("values").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Selectors_and_times_parse_or_fail_clearly()
    {
        var page = await PageAsync();
        var json = await page.EvaluateAsync<string>("""
            async () => {
              const app = await import('/assets/app.js');
              const errorOf = (f) => { try { f(); return ''; } catch (e) { return e.message; } };
              const parsed = app.parseSelector('{service_name="api", pod!~"a.*", msg="say \\"hi\\""}');
              return JSON.stringify({
                parsed,
                round: app.formatSelector(parsed),
                empty: app.parseSelector('{}').length,
                bad: errorOf(() => app.parseSelector('service_name=api')),
                trailing: errorOf(() => app.parseSelector('{a="b" c}')),
                rel: app.resolveTime('now-15m', 1000000000000),
                secs: app.resolveTime('1700000000', 0),
                ms: app.resolveTime('1700000000123', 0),
                ns: app.resolveTime('1700000000123456789', 0),
                badTime: errorOf(() => app.resolveTime('yesterday')),
              });
            }
            """);
        using var doc = JsonDocument.Parse(json);
        var r = doc.RootElement;
        Assert.Equal("""[{"name":"service_name","op":"=","value":"api"},{"name":"pod","op":"!~","value":"a.*"},{"name":"msg","op":"=","value":"say \"hi\""}]""", r.GetProperty("parsed").GetRawText());
        Assert.Equal("""{service_name="api",pod!~"a.*",msg="say \"hi\""}""", r.GetProperty("round").GetString());
        Assert.Equal(0, r.GetProperty("empty").GetInt32());
        Assert.Contains("must look like", r.GetProperty("bad").GetString());
        Assert.Contains("cannot parse", r.GetProperty("trailing").GetString());
        Assert.Equal(1_000_000_000_000 - 900_000, r.GetProperty("rel").GetInt64());
        Assert.Equal(1_700_000_000_000, r.GetProperty("secs").GetInt64());
        Assert.Equal(1_700_000_000_123, r.GetProperty("ms").GetInt64());
        Assert.Equal(1_700_000_000_123, r.GetProperty("ns").GetInt64());
        Assert.Contains("invalid time", r.GetProperty("badTime").GetString());
    }
}
