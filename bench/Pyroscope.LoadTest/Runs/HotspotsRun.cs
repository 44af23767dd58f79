using System.Globalization;
using System.Text;
using Pyroscope.LoadTest.Analysis;
using Pyroscope.LoadTest.Cli;
using Pyroscope.LoadTest.Report;
using Pyroscope.LoadTest.Servers;
using Pyroscope.Testing;

namespace Pyroscope.LoadTest.Runs;

/// <summary>
/// Where the monolith's CPU goes under load, from its own profiler: the monolith alone at full load with
/// self-profiling on (10 s windows, 1 s sampled each), then its <c>process_cpu</c> profile of service
/// <c>pyroscope</c> for the measured window, read back through <c>/pyroscope/render?format=collapsed</c>.
/// The managed profiler sees only threads in managed code: GC, zlib and the kernel are invisible to it, so
/// <c>--perf</c> adds a <c>perf record</c> of the same window (native frames, JIT frames via the perf map).
/// </summary>
public sealed class HotspotsRun(LoadTestOptions options, RunContext context)
{
    private const string CpuType = "process_cpu:cpu:nanoseconds:cpu:nanoseconds";
    private static readonly TimeSpan UploadInterval = TimeSpan.FromSeconds(10);

    public async Task<string> RunAsync(CancellationToken cancellationToken)
    {
        var report = new StringBuilder();
        report.AppendLine(context.Header("hotspots", options));
        var scenarioName = options.Scenarios[0] == ScenarioNames.Microservices ? ScenarioNames.IngestSmall : options.Scenarios[0];
        var scenario = context.Scenario(scenarioName, options);
        var settings = context.Settings(options, selfProfiling: true, perfMap: options.Perf, selfProfilingInterval: $"{UploadInterval.TotalSeconds}s");
        await using var server = (MonolithServer)await context.StartMonolithAsync(settings, cancellationToken);
        var seconds = options.Seconds * 6 * scenario.TimeScale;
        context.Log($"hotspots of {scenarioName}: {seconds} s under load (after {options.WarmupSeconds * 3} s warm-up), self-profiling every {UploadInterval.TotalSeconds} s{(options.Perf ? ", perf record" : "")}");

        var perfFile = Path.Combine(context.DataRoot, "perf.data");
        var plan = new PhasePlan(scenario.Workload, scenario.Connections, TimeSpan.FromSeconds(options.WarmupSeconds * 3), TimeSpan.FromSeconds(seconds));
        var from = DateTimeOffset.UtcNow + plan.Warmup;
        Task<(int, string)>? perf = null;
        if (options.Perf)
        {
            perf = StartPerfAfterAsync(plan.Warmup, server.ProcessIds[0], perfFile, seconds, cancellationToken);
        }
        var phase = await Phase.RunAsync(server, plan, cancellationToken);
        var until = DateTimeOffset.UtcNow;
        report.AppendLine(CompareRun.PhaseTable([(scenario.Name, [phase])]).ToString());

        // The last window is pushed at its end; wait for it, then read the profile back.
        await Task.Delay(UploadInterval + TimeSpan.FromSeconds(3), cancellationToken);
        var stacks = await QueryAsync(server, from, until, cancellationToken);
        report.AppendLine(Breakdown(stacks));
        if (perf is not null)
        {
            var (code, output) = await perf;
            report.AppendLine(code == 0 ? await PerfReportAsync(perfFile, cancellationToken) : "perf record failed: " + Readiness.Tail(output, 10));
        }
        return report.ToString();
    }

    private static async Task<CollapsedStacks> QueryAsync(MonolithServer server, DateTimeOffset from, DateTimeOffset until, CancellationToken cancellationToken)
    {
        var query = Uri.EscapeDataString(CpuType + "{service_name=\"pyroscope\"}");
        var url = string.Create(CultureInfo.InvariantCulture,
            $"/pyroscope/render?query={query}&from={from.ToUnixTimeMilliseconds()}&until={until.ToUnixTimeMilliseconds() + (long)UploadInterval.TotalMilliseconds}&format=collapsed&max-nodes=1048576");
        return CollapsedStacks.Parse(await server.Http.GetStringAsync(url, cancellationToken));
    }

    public static string Breakdown(CollapsedStacks stacks)
    {
        var text = new StringBuilder();
        var total = Math.Max(1, stacks.Total);
        string Share(long value) => (100.0 * value / total).ToString("F1", CultureInfo.InvariantCulture) + " %";
        text.AppendLine(CultureInfo.InvariantCulture, $"Self-profile (`process_cpu`, threads in managed code only): {stacks.Total / 1e9:F1} s of CPU in {stacks.StackCount} distinct stacks.");
        text.AppendLine();
        var stages = new MarkdownTable("stage", "share of managed CPU", "top self frames in it");
        foreach (var (stage, value, top) in stacks.ByStage(StageRule.WritePath))
        {
            stages.Add(stage, Share(value), string.Join("; ", top.Select(f => $"`{Short(f.Frame)}` {Share(f.Value)}")));
        }
        text.AppendLine(stages.ToString());
        var self = new MarkdownTable("top self frames", "self");
        foreach (var (frame, value) in stacks.TopSelf(25))
        {
            self.Add($"`{Short(frame)}`", Share(value));
        }
        text.AppendLine(self.ToString());
        var totals = new MarkdownTable("top product frames by total", "total");
        foreach (var (frame, value) in stacks.TopTotal(30, f => f.StartsWith("Pyroscope.", StringComparison.Ordinal)))
        {
            totals.Add($"`{Short(frame)}`", Share(value));
        }
        text.AppendLine(totals.ToString());
        return text.ToString();
    }

    private static string Short(string frame) => frame.Length > 110 ? frame[..110] + "…" : frame.Replace('|', '/');

    private async Task<(int, string)> StartPerfAfterAsync(TimeSpan delay, int pid, string file, double seconds, CancellationToken cancellationToken)
    {
        await Task.Delay(delay, cancellationToken);
        return await ExternalProcess.RunAsync("perf",
            ["record", "-F", "499", "-g", "-p", pid.ToString(CultureInfo.InvariantCulture), "-o", file, "--", "sleep", seconds.ToString(CultureInfo.InvariantCulture)],
            TimeSpan.FromSeconds(seconds + 120));
    }

    private static async Task<string> PerfReportAsync(string file, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        text.AppendLine("perf (all threads, native + JIT frames; user space only on this machine):");
        text.AppendLine();
        foreach (var sort in new[] { "dso", "dso,sym" })
        {
            var (_, output) = await ExternalProcess.RunAsync("perf",
                ["report", "-i", file, "--stdio", "--no-children", "-g", "none", "--percent-limit", sort == "dso" ? "0.5" : "0.7", "--sort", sort],
                TimeSpan.FromMinutes(5));
            text.AppendLine("```");
            foreach (var line in output.Split('\n'))
            {
                if (line.Length > 0 && !line.StartsWith('#'))
                {
                    text.AppendLine(line.Length > 160 ? line[..160] : line);
                }
            }
            text.AppendLine("```");
        }
        cancellationToken.ThrowIfCancellationRequested();
        return text.ToString();
    }
}
