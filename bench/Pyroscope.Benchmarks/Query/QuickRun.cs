using System.Diagnostics;

namespace Pyroscope.Benchmarks.Query;

public static class QuickRun
{
    public static void Run()
    {
        var merge = new MergeBenchmarks { Sources = 20 };
        merge.Setup();
        Time("iterate", () => merge.IterateStacks());
        Time("merge", () => merge.MergeIntoTree());
        Time("merge presized", () => merge.MergeIntoPresizedTree());
        Time("intern only", () => merge.InternOnly());
        Time("hash only", () => merge.HashOnly());
        Time("hash names only", () => merge.HashNamesOnly());
        Time("merge warm", () => merge.MergeIntoWarmTree());
        Time("add only warm", () => merge.AddOnlyWarm());
        Time("iterate", () => merge.IterateStacks());
        var render = new RenderBenchmarks { MaxNodes = 8192 };
        render.Setup();
        Time("render json 8192", () => render.FlamebearerJson());
        render.MaxNodes = 1_048_576;
        Time("render json 1M", () => render.FlamebearerJson());
    }

    private static void Time(string name, Func<long> action)
    {
        // Warm up long enough for tiered JIT to reach optimized code (it waits ~100 ms before re-jitting).
        var warm = Stopwatch.StartNew();
        while (warm.ElapsedMilliseconds < 400)
        {
            action();
        }
        var best = double.MaxValue;
        for (var i = 0; i < 10; i++)
        {
            var sw = Stopwatch.StartNew();
            action();
            best = Math.Min(best, sw.Elapsed.TotalMilliseconds);
        }
        Console.WriteLine($"{name}: best of 10 {best:F1} ms");
    }
}
