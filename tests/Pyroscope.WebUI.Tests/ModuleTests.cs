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
