using System.Globalization;
using System.Text;
using Pyroscope.LoadTest.Cli;
using Pyroscope.LoadTest.Report;
using Pyroscope.LoadTest.Servers;

namespace Pyroscope.LoadTest.Runs;

/// <summary>
/// Memory over time: the monolith's maximum rate measured first (closed loop), then a fixed rate of 80 % of it for
/// the soak's length, RSS sampled every few seconds. Reports min / max / drift after the first minute and where
/// RSS stands against the head bound (<c>max_head_bytes</c>), and the head cuts the server logged.
/// </summary>
public sealed class SoakRun(LoadTestOptions options, RunContext context)
{
    private const long DefaultMaxHeadBytes = 1L << 30;

    public async Task<string> RunAsync(CancellationToken cancellationToken)
    {
        var report = new StringBuilder();
        report.AppendLine(context.Header("soak", options));
        var scenario = context.Scenario(options.SoakScenario, options);
        await using var server = await context.StartMonolithAsync(context.Settings(options), cancellationToken);

        double rate;
        if (options.SoakRate is { } fixedRate)
        {
            rate = fixedRate;
        }
        else
        {
            var max = await Phase.RunAsync(server, new PhasePlan(scenario.Workload, scenario.Connections,
                TimeSpan.FromSeconds(options.WarmupSeconds * 3), TimeSpan.FromSeconds(options.Seconds)), cancellationToken);
            rate = 0.8 * max.Load.ProfilesPerSecond;
            context.Log($"maximum {max.Load.ProfilesPerSecond:F0} profiles/s (closed loop, {scenario.Connections} connections); soak at {rate:F0}/s");
            report.AppendLine(CultureInfo.InvariantCulture, $"Maximum rate (closed loop, {scenario.Connections} connections, {options.Seconds} s): {max.Load.ProfilesPerSecond:F0} profiles/s; soak at 80 %: {rate:F0} profiles/s.");
            report.AppendLine();
        }
        var flushesBefore = CountFlushes(server.Output);
        using var stopHeap = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var heap = SampleHeapAsync(server, TimeSpan.FromSeconds(options.RssEverySeconds), flushesBefore, TimeSpan.FromSeconds(options.WarmupSeconds), stopHeap.Token);
        var soak = await Phase.RunAsync(server,
            new PhasePlan(scenario.Workload, scenario.Connections * 2, TimeSpan.FromSeconds(options.WarmupSeconds), TimeSpan.FromMinutes(options.SoakMinutes),
                rate, TimeSpan.FromSeconds(options.RssEverySeconds)),
            cancellationToken, context.Log);
        await stopHeap.CancelAsync();
        var (heapSamples, cuts) = await heap;
        var flushes = CountFlushes(server.Output) - flushesBefore;
        report.AppendLine(CompareRun.PhaseTable([($"soak {scenario.Name}", [soak])]).ToString());
        report.AppendLine(Memory(soak, options.MaxHeadBytes ?? DefaultMaxHeadBytes, rate, flushes, heapSamples, cuts));
        return report.ToString();
    }

    /// <summary>
    /// The managed heap after each GC and the GC's committed memory, from /metrics, until cancelled; and when each
    /// head cut was seen flushed, on the clock of the phase's RSS samples (which start after the warm-up).
    /// </summary>
    private static async Task<(List<(long Heap, long Committed)> Samples, List<TimeSpan> Cuts)> SampleHeapAsync(IServerUnderTest server, TimeSpan every,
        int flushesBefore, TimeSpan warmup, CancellationToken cancellationToken)
    {
        var samples = new List<(long, long)>();
        var cuts = new List<TimeSpan>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var timer = new PeriodicTimer(every);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                var counters = await server.ReadCountersAsync(cancellationToken);
                samples.Add(((long)counters.HeapBytes, (long)counters.CommittedBytes));
                if (CountFlushes(server.Output) > flushesBefore + cuts.Count)
                {
                    cuts.Add(clock.Elapsed - warmup);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (HttpRequestException)
        {
            // The server went away: the phase reports that.
        }
        return (samples, cuts);
    }

    private static int CountFlushes(string output)
    {
        var count = 0;
        var at = 0;
        while ((at = output.IndexOf("Flushed head of tenant", at, StringComparison.Ordinal)) >= 0)
        {
            count++;
            at++;
        }
        return count;
    }

    public static string Memory(PhaseResult soak, long maxHeadBytes, double targetRate, int flushes, IReadOnlyList<(long Heap, long Committed)> heap,
        IReadOnlyList<TimeSpan>? cuts = null)
    {
        var samples = soak.RssSamples;
        // The first minute is the ramp (head filling from where the maximum-rate phase left it); judge the rest.
        var settled = samples.Where(s => s.At >= TimeSpan.FromMinutes(1)).ToArray();
        if (settled.Length < 2)
        {
            settled = [.. samples];
        }
        var every = samples.Count > 1 ? samples[1].At - samples[0].At : TimeSpan.Zero;
        var range = RssRange.Of(settled);
        var firstMinute = Window(settled, settled[0].At, settled[0].At + TimeSpan.FromMinutes(1));
        var lastMinute = Window(settled, settled[^1].At - TimeSpan.FromMinutes(1), settled[^1].At);
        var text = new StringBuilder();
        var table = new MarkdownTable("RSS after the first minute", "value");
        table.Add("achieved rate", string.Create(CultureInfo.InvariantCulture, $"{soak.Load.ProfilesPerSecond:F0} profiles/s (target {targetRate:F0})"));
        table.Add("samples", $"{settled.Length} (every {every.TotalSeconds:F0} s)");
        table.Add("min / mean / max", range.MinMeanMax);
        table.Add("spread (max − min) ÷ mean", range.Spread + " % (goal: within ±10 %, i.e. ≤ 20 %)");
        table.Add("drift: last minute ÷ first minute", Figures.Num(100.0 * (lastMinute / firstMinute - 1), "+0.0;-0.0") + " %");
        table.Add("head bound (max_head_bytes)", Figures.Megabytes(maxHeadBytes) + " MB");
        table.Add("max RSS − head bound (the constant)", Figures.Megabytes(range.Max - maxHeadBytes) + " MB");
        table.Add("head cuts flushed during the soak", flushes.ToString(CultureInfo.InvariantCulture));
        if (heap.Count > 0)
        {
            table.Add("managed heap after the last GC: min / max", $"{Figures.Megabytes(heap.Min(h => h.Heap))} / {Figures.Megabytes(heap.Max(h => h.Heap))} MB");
            table.Add("GC committed memory: min / max", $"{Figures.Megabytes(heap.Min(h => h.Committed))} / {Figures.Megabytes(heap.Max(h => h.Committed))} MB");
        }
        text.AppendLine(table.ToString());
        // Until the head first reaches its bound RSS only grows; from the first cut on the process is in its steady cycle
        // (fill, cut, flush, collect), which is what the ±10 % goal is about. From the second cut on, the second head
        // too is gone and the heads fill memory the first ones held (the sample chunks are reused). One sample later
        // than each cut: the flush is seen late.
        (string Title, string Which)[] windows = [("RSS from the first head cut on (steady state)", "first"), ("RSS from the second head cut on", "second")];
        for (var w = 0; w < windows.Length && cuts is not null && w < cuts.Count; w++)
        {
            var cut = cuts[w];
            var steady = samples.Where(s => s.At >= cut + every).ToArray();
            if (steady.Length < 2)
            {
                continue;
            }
            var steadyRange = RssRange.Of(steady);
            var cycle = new MarkdownTable(windows[w].Title, "value");
            cycle.Add($"{windows[w].Which} cut flushed at", $"{cut.TotalMinutes:F1} min ({steady.Length} samples after it)");
            cycle.Add("min / mean / max", steadyRange.MinMeanMax);
            cycle.Add("spread (max − min) ÷ mean", steadyRange.Spread + " % (goal: ≤ 20 %)");
            text.AppendLine(cycle.ToString());
        }
        text.AppendLine("RSS over time (MB, one value per 30 s):");
        text.AppendLine();
        var line = new StringBuilder();
        var next = TimeSpan.Zero;
        foreach (var (at, bytes) in samples)
        {
            if (at >= next)
            {
                line.Append(CultureInfo.InvariantCulture, $"{at.TotalMinutes:F1}m {bytes / 1048576} · ");
                next = at + TimeSpan.FromSeconds(30);
            }
        }
        text.AppendLine(line.ToString().TrimEnd(' ', '·'));
        if (heap.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("Managed heap after the last GC / GC committed (MB, one pair per 30 s):");
            text.AppendLine();
            var step = Math.Max(1, (int)Math.Round(30.0 / Math.Max(1, (samples.Count > 1 ? every.TotalSeconds : 30))));
            var pairs = new List<string>();
            for (var i = 0; i < heap.Count; i += step)
            {
                pairs.Add($"{heap[i].Heap / 1048576}/{heap[i].Committed / 1048576}");
            }
            text.AppendLine(string.Join(" · ", pairs));
        }
        return text.ToString();
    }

    /// <summary>RSS samples' min, mean and max, as the soak's tables print them.</summary>
    private readonly record struct RssRange(long Min, double Mean, long Max)
    {
        public static RssRange Of(IReadOnlyCollection<(TimeSpan At, long Bytes)> samples) =>
            new(samples.Min(s => s.Bytes), samples.Average(s => (double)s.Bytes), samples.Max(s => s.Bytes));

        public string MinMeanMax => $"{Figures.Megabytes(Min)} / {Figures.Megabytes((long)Mean)} / {Figures.Megabytes(Max)} MB";

        public string Spread => Figures.Num(100.0 * (Max - Min) / Mean, "F1");
    }

    private static double Window((TimeSpan At, long Bytes)[] samples, TimeSpan from, TimeSpan to)
    {
        var inside = samples.Where(s => s.At >= from && s.At <= to).ToArray();
        return inside.Length == 0 ? double.NaN : inside.Average(s => (double)s.Bytes);
    }
}
