using System.Globalization;
using System.Text;
using Pyroscope.LoadTest.Analysis;
using Pyroscope.LoadTest.Cli;
using Pyroscope.LoadTest.Report;
using Pyroscope.LoadTest.Servers;
using Pyroscope.Profiler;
using Pyroscope.Testing;

namespace Pyroscope.LoadTest.Runs;

/// <summary>
/// Where the monolith's CPU and allocations go under load. The monolith runs alone at full load with self-profiling
/// on (10 s windows, 1 s sampled each); its own <c>process_cpu</c> profile of service <c>pyroscope</c> for the
/// measured window is read back through <c>/pyroscope/render?format=collapsed</c>. Then, still under load, an
/// EventPipe trace taken from outside (thread samples + GC AllocationTick) gives the allocations by stack.
/// Both see only managed code; <c>--perf</c> adds a <c>perf record</c> of the measured window (GC, zlib, kernel).
/// </summary>
public sealed class HotspotsRun(LoadTestOptions options, RunContext context)
{
    private const string CpuType = "process_cpu:cpu:nanoseconds:cpu:nanoseconds";
    private static readonly TimeSpan UploadInterval = TimeSpan.FromSeconds(10);

    public async Task<string> RunAsync(CancellationToken cancellationToken)
    {
        var report = new StringBuilder();
        report.AppendLine(context.Header("hotspots", options));
        if (options.Scenarios[0] == ScenarioNames.Microservices)
        {
            await MicroservicesAsync(report, cancellationToken);
            return report.ToString();
        }
        var scenarioName = options.Scenarios[0];
        var scenario = context.Scenario(scenarioName, options);
        var settings = context.Settings(options, selfProfiling: true, perfMap: options.Perf, selfProfilingInterval: $"{UploadInterval.TotalSeconds}s");
        await using var server = (MonolithServer)await context.StartMonolithAsync(settings, cancellationToken);
        var seconds = options.Seconds * 6 * scenario.TimeScale;
        context.Log($"hotspots of {scenarioName}: {seconds} s under load (after {options.WarmupSeconds * 3} s warm-up), self-profiling every {UploadInterval.TotalSeconds} s{(options.Perf ? ", perf record" : "")}");

        var perfFile = Path.Combine(context.DataRoot, "perf.data");
        var plan = new PhasePlan(scenario.Workload, scenario.Connections, TimeSpan.FromSeconds(options.WarmupSeconds * 3 * scenario.TimeScale), TimeSpan.FromSeconds(seconds));
        var from = DateTimeOffset.UtcNow + plan.Warmup;
        var perf = options.Perf ? RecordPerfAfterAsync(plan.Warmup, server.ProcessIds[0], perfFile, seconds, cancellationToken) : null;
        var phase = await Phase.RunAsync(server, plan, cancellationToken);
        var until = DateTimeOffset.UtcNow;
        report.AppendLine(CompareRun.PhaseTable([(scenario.Name, [phase])]).ToString());

        // Allocations by stack: a trace from outside while the same load goes on.
        var traceSeconds = options.Seconds * 2 * scenario.TimeScale;
        context.Log($"EventPipe trace (thread samples + AllocationTick) for {traceSeconds} s under the same load");
        var traceLoad = Phase.RunAsync(server, plan with { Warmup = TimeSpan.FromSeconds(1), Measure = TimeSpan.FromSeconds(traceSeconds + 2) }, cancellationToken);
        await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        var trace = await RuntimeTrace.RecordAsync(server.ProcessIds[0], TimeSpan.FromSeconds(traceSeconds), Path.Combine(context.DataRoot, "server.nettrace"), cancellationToken);
        var traced = await traceLoad;

        // The last self-profiling window is pushed at its end: by now it is in.
        var stacks = await QueryAsync(server, from, until, cancellationToken);
        report.AppendLine(CultureInfo.InvariantCulture, $"### CPU by stage: the server's own profile (`{CpuType}`, service `pyroscope`)");
        report.AppendLine();
        report.AppendLine(Breakdown(stacks, "CPU", null));
        foreach (var (type, profile) in trace)
        {
            if (type.SampleType == DotNetProfileTypes.AllocSize.SampleType)
            {
                report.AppendLine(CultureInfo.InvariantCulture, $"### Allocations by stage (EventPipe AllocationTick, {traceSeconds} s, {traced.Load.ProfilesPerSecond:F0} profiles/s meanwhile; KB per profile = share × the {Figures.Kilobytes(phase.AllocatedBytesPerProfile)} per profile of /metrics)");
                report.AppendLine();
                report.AppendLine(Breakdown(PprofStacks.ToCollapsed(profile, 0), "allocated bytes", phase.AllocatedBytesPerProfile));
            }
            else if (type.SampleType == DotNetProfileTypes.Cpu.SampleType)
            {
                report.AppendLine(CultureInfo.InvariantCulture, $"### CPU by stage: continuous EventPipe thread samples ({traceSeconds} s, cross-check of the above)");
                report.AppendLine();
                report.AppendLine(StageTable(PprofStacks.ToCollapsed(profile, 0), null).ToString());
            }
        }
        if (perf is not null)
        {
            var (code, output) = await perf;
            report.AppendLine(code == 0 ? await PerfReportAsync(perfFile) : "perf record failed: " + Readiness.Tail(output, 10));
        }
        return report.ToString();
    }

    /// <summary>
    /// Microservices: the distributor and the ingester each traced from outside (EventPipe thread samples and
    /// AllocationTick) at the same time, under the same load: CPU and allocations by stage, per process.
    /// </summary>
    private async Task MicroservicesAsync(StringBuilder report, CancellationToken cancellationToken)
    {
        var scenario = context.Scenario(ScenarioNames.Microservices, options);
        await using var server = await scenario.StartAsync(cancellationToken);
        var plan = new PhasePlan(scenario.Workload, scenario.Connections, TimeSpan.FromSeconds(options.WarmupSeconds * 3), TimeSpan.FromSeconds(options.Seconds));
        var phase = await Phase.RunAsync(server, plan, cancellationToken);
        report.AppendLine(CompareRun.PhaseTable([(scenario.Name, [phase])]).ToString());

        var traceSeconds = options.Seconds * 2;
        context.Log($"EventPipe traces of the distributor and the ingester (thread samples + AllocationTick) for {traceSeconds} s under the same load");
        var traceLoad = Phase.RunAsync(server, plan with { Warmup = TimeSpan.FromSeconds(1), Measure = TimeSpan.FromSeconds(traceSeconds + 2) }, cancellationToken);
        await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        string[] names = ["distributor", "ingester"];
        var traces = new Task<IReadOnlyList<(Model.ProfileTypeId Type, Contracts.Google.V1.Profile Profile)>>[names.Length];
        for (var i = 0; i < names.Length; i++)
        {
            traces[i] = RuntimeTrace.RecordAsync(server.ProcessIds[i], TimeSpan.FromSeconds(traceSeconds), Path.Combine(context.DataRoot, names[i] + ".nettrace"), cancellationToken);
        }
        await Task.WhenAll(traces);
        var traced = await traceLoad;
        for (var i = 0; i < names.Length; i++)
        {
            foreach (var (type, profile) in await traces[i])
            {
                // The trace converter names its types as the profiler does: read them from there, not from literals that can go stale.
                var what = type.SampleType == DotNetProfileTypes.Cpu.SampleType ? "CPU" : type.SampleType == DotNetProfileTypes.AllocSize.SampleType ? "allocated bytes" : null;
                if (what is null)
                {
                    continue;
                }
                report.AppendLine(CultureInfo.InvariantCulture, $"### {names[i]}: {what} by stage (EventPipe, {traceSeconds} s, {traced.Load.ProfilesPerSecond:F0} profiles/s meanwhile)");
                report.AppendLine();
                report.AppendLine(Breakdown(PprofStacks.ToCollapsed(profile, 0), what, null));
            }
        }
    }

    private static async Task<CollapsedStacks> QueryAsync(MonolithServer server, DateTimeOffset from, DateTimeOffset until, CancellationToken cancellationToken)
    {
        var query = Uri.EscapeDataString(CpuType + "{service_name=\"pyroscope\"}");
        var url = string.Create(CultureInfo.InvariantCulture,
            $"/pyroscope/render?query={query}&from={from.ToUnixTimeMilliseconds()}&until={until.ToUnixTimeMilliseconds()}&format=collapsed&max-nodes=1048576");
        return CollapsedStacks.Parse(await server.Http.GetStringAsync(url, cancellationToken));
    }

    /// <summary>Stage table, then top self frames and top product frames by total.</summary>
    public static string Breakdown(CollapsedStacks stacks, string what, double? perProfile)
    {
        var text = new StringBuilder();
        var total = Math.Max(1, stacks.Total);
        string Share(long value) => (100.0 * value / total).ToString("F1", CultureInfo.InvariantCulture) + " %";
        text.AppendLine(CultureInfo.InvariantCulture, $"{stacks.StackCount} distinct stacks; managed code only.");
        text.AppendLine();
        text.AppendLine(StageTable(stacks, perProfile).ToString());
        var self = new MarkdownTable($"top self frames ({what})", "share");
        foreach (var (frame, value) in stacks.TopSelf(20))
        {
            self.Add($"`{Short(frame)}`", Share(value));
        }
        text.AppendLine(self.ToString());
        var totals = new MarkdownTable($"top product frames by total ({what})", "share");
        foreach (var (frame, value) in stacks.TopTotal(20, f => f.StartsWith("Pyroscope.", StringComparison.Ordinal) && !f.StartsWith("Pyroscope.Profiler.", StringComparison.Ordinal)))
        {
            totals.Add($"`{Short(frame)}`", Share(value));
        }
        text.AppendLine(totals.ToString());
        return text.ToString();
    }

    private static MarkdownTable StageTable(CollapsedStacks stacks, double? perProfile)
    {
        var stages = stacks.ByStage(StageRule.WritePath);
        var work = Math.Max(1, stages.Where(s => !StageRule.IsOverhead(s.Stage)).Sum(s => s.Value));
        var total = Math.Max(1, stacks.Total);
        var table = perProfile is null
            ? new MarkdownTable("stage", "share of all", "share of work", "top self frames in it")
            : new MarkdownTable("stage", "share of all", "share of work", "KB per profile", "top self frames in it");
        foreach (var (stage, value, top) in stages)
        {
            var ofWork = StageRule.IsOverhead(stage) ? "–" : Figures.Num(100.0 * value / work, "F1") + " %";
            var frames = string.Join("; ", top.Select(f => $"`{Short(f.Frame)}` {Figures.Num(100.0 * f.Value / total, "F1")} %"));
            if (perProfile is { } bytes)
            {
                table.Add(stage, Figures.Num(100.0 * value / total, "F1") + " %", ofWork, Figures.Num(bytes * value / total / 1024, "F1"), frames);
            }
            else
            {
                table.Add(stage, Figures.Num(100.0 * value / total, "F1") + " %", ofWork, frames);
            }
        }
        return table;
    }

    private static string Short(string frame) => (frame.Length > 110 ? frame[..110] + "…" : frame).Replace('|', '/');

    private static async Task<(int, string)> RecordPerfAfterAsync(TimeSpan delay, int pid, string file, double seconds, CancellationToken cancellationToken)
    {
        await Task.Delay(delay, cancellationToken);
        return await ExternalProcess.RunAsync("perf",
            ["record", "-F", "499", "-g", "-p", pid.ToString(CultureInfo.InvariantCulture), "-o", file, "--", "sleep", seconds.ToString(CultureInfo.InvariantCulture)],
            TimeSpan.FromSeconds(seconds + 120));
    }

    private static async Task<string> PerfReportAsync(string file)
    {
        var text = new StringBuilder();
        text.AppendLine("### perf: all threads, native + JIT frames (kernel included when perf may see it)");
        text.AppendLine();
        // comm = thread name: ".NET SVR GC" / ".NET BGC" are the GC, ".NET Tiered Com" the JIT's background tiering.
        foreach (var (sort, limit) in new[] { ("comm", "0.5"), ("dso", "0.5"), ("dso,sym", "0.6") })
        {
            var (_, output) = await ExternalProcess.RunAsync("perf",
                ["report", "-i", file, "--stdio", "--no-children", "-g", "none", "--percent-limit", limit, "--sort", sort],
                TimeSpan.FromMinutes(5));
            text.AppendLine("```");
            foreach (var line in output.Split('\n'))
            {
                if (line.Length > 0 && !line.StartsWith('#'))
                {
                    text.AppendLine(line.Length > 170 ? line[..170] : line);
                }
            }
            text.AppendLine("```");
        }
        return text.ToString();
    }
}
