using System.Text.Json;
using Microsoft.Playwright;

namespace Pyroscope.WebUI.Tests;

internal static class PageHelpers
{
    /// <summary>Waits until a load finished: a model is shown or an empty/error state is visible.</summary>
    public static async Task WaitForModelAsync(this IPage page)
    {
        await page.WaitForFunctionAsync("() => window.pyroscopeUI && window.pyroscopeUI.model && !document.getElementById('status').textContent.startsWith('Loading')");
    }

    public static Task<T> EvalAsync<T>(this IPage page, string js, object? arg = null) => page.EvaluateAsync<T>(js, arg);

    /// <summary>
    /// Screen centre of the widest node with this name (or null when not drawn) in a flame graph of
    /// <c>window.pyroscopeUI</c>: <c>flame</c> (the main one), <c>callersFlame</c> or <c>calleesFlame</c>.
    /// </summary>
    public static async Task<(float X, float Y)?> NodeCenterAsync(this IPage page, string name, string graph = "flame")
    {
        var json = await page.EvaluateAsync<string?>("""
            ([name, graph]) => {
              const g = window.pyroscopeUI[graph], m = g.model;
              let best = null;
              for (let d = m.rootName ? 0 : 1; d < m.levels.length; d++) {
                const lv = m.levels[d];
                for (let i = 0; i < lv.n; i++) if (g.nameOf(d, i) === name && (!best || lv.total[i] > m.levels[best.d].total[best.i])) best = { d, i };
              }
              if (!best) return null;
              const [x0, x1] = g.viewRange();
              const rect = g.canvas.getBoundingClientRect();
              const scale = rect.width / (x1 - x0), lv = m.levels[best.d];
              const left = Math.max(0, (lv.x[best.i] - x0) * scale), right = Math.min(rect.width, (lv.x[best.i] + lv.total[best.i] - x0) * scale);
              if (right - left < 1) return null;
              return JSON.stringify({ x: rect.left + (left + right) / 2, y: rect.top + g.rowY(best.d) + 10 });
            }
            """, new object[] { name, graph });
        if (json is null) return null;
        var e = JsonDocument.Parse(json).RootElement;
        return ((float)e.GetProperty("x").GetDouble(), (float)e.GetProperty("y").GetDouble());
    }

    /// <summary>Name → total of the nodes at one level of a flame graph's model (names can repeat: summed).</summary>
    public static async Task<Dictionary<string, long>> LevelAsync(this IPage page, string graph, int level)
    {
        var json = await page.EvaluateAsync<string>("""
            ([graph, level]) => {
              const g = window.pyroscopeUI[graph], m = g.model, lv = m.levels[level], out = {};
              if (lv) for (let i = 0; i < lv.n; i++) { const n = g.nameOf(level, i); out[n] = (out[n] || 0) + lv.total[i]; }
              return JSON.stringify(out);
            }
            """, new object[] { graph, level });
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var p in JsonDocument.Parse(json).RootElement.EnumerateObject()) result[p.Name] = (long)p.Value.GetDouble();
        return result;
    }

    /// <summary>RGB of the canvas pixel at a page position.</summary>
    public static async Task<int[]> PixelAsync(this IPage page, float x, float y, string graph = "flame") =>
        await page.EvaluateAsync<int[]>("""
            ({ x, y, graph }) => {
              const c = window.pyroscopeUI[graph].canvas, r = c.getBoundingClientRect(), dpr = c.width / r.width;
              const d = c.getContext('2d').getImageData(Math.round((x - r.left) * dpr), Math.round((y - r.top) * dpr), 1, 1).data;
              return [d[0], d[1], d[2]];
            }
            """, new { x = (double)x, y = (double)y, graph });

    /// <summary>Root-first call path of the widest node with this name.</summary>
    public static async Task<string[]> NodeStackAsync(this IPage page, string name) =>
        await page.EvaluateAsync<string[]>("""
            (name) => {
              const m = window.pyroscopeUI.model;
              let best = null;
              for (let d = 1; d < m.levels.length; d++) {
                const lv = m.levels[d];
                for (let i = 0; i < lv.n; i++) if (m.names[lv.name[i]] === name && (!best || lv.total[i] > m.levels[best.d].total[best.i])) best = { d, i };
              }
              return best ? m.stackOf(best.d, best.i) : [];
            }
            """, name);

    public static string Q(string s) => Uri.EscapeDataString(s);
}
