using System.Globalization;
using Pyroscope.LoadTest.Cli;
using Pyroscope.LoadTest.Report;
using Pyroscope.LoadTest.Servers;
using Pyroscope.LoadTest.Workload;

namespace Pyroscope.LoadTest.Runs;

/// <summary>
/// The compare table: per scenario, the null server and the system under test under the same load, interleaved
/// (null, server, server, null, …) so a busy machine slows both alike; medians and the spread of the rounds.
/// </summary>
public sealed class CompareRun(LoadTestOptions options, RunContext context)
{
    public async Task<string> RunAsync(CancellationToken cancellationToken)
    {
        var report = new System.Text.StringBuilder();
        report.AppendLine(context.Header("compare", options));
        var results = new List<ScenarioResult>();
        await using var nullServer = await NullServerProcess.StartAsync(cancellationToken);
        foreach (var name in options.Scenarios)
        {
            var scenario = context.Scenario(name, options);
            context.Log($"scenario {name}: {scenario.Workload.Description}");
            await using var server = await scenario.StartAsync(cancellationToken);
            var rounds = new List<(PhaseResult Null, PhaseResult Server)>();
            var warmedUp = new HashSet<IServerUnderTest>();
            for (var round = 0; round < options.Rounds; round++)
            {
                // Alternate the order, so drift on a shared machine does not always favour the same side.
                IServerUnderTest[] order = round % 2 == 0 ? [nullServer, server] : [server, nullServer];
                var phase = new Dictionary<IServerUnderTest, PhaseResult>();
                foreach (var target in order)
                {
                    // The first phase on a server also warms its JIT (tiered compilation, PGO).
                    var warmup = TimeSpan.FromSeconds(options.WarmupSeconds * (warmedUp.Add(target) ? 3 : 1) * scenario.TimeScale);
                    var plan = new PhasePlan(scenario.Workload, scenario.Connections, warmup, TimeSpan.FromSeconds(options.Seconds * scenario.TimeScale));
                    var result = await Phase.RunAsync(target, plan, cancellationToken);
                    phase[target] = result;
                    context.Log(string.Create(CultureInfo.InvariantCulture,
                        $"  round {round + 1} {target.Name,-24} {result.Load.ProfilesPerSecond,9:F1} profiles/s {result.Load.MegabytesPerSecond,7:F2} MB/s  p50 {result.Load.P50Ms,7:F2} ms  p99 {result.Load.P99Ms,8:F2} ms  errors {result.Load.Errors}  cpu {result.ServerCpuCores:F2} ({result.CpuMillisecondsPerProfile:F3} ms/profile)  rss {result.RssEndBytes / 1048576} MB  load avg {result.LoadAverage:F1}"));
                    foreach (var error in result.Load.ErrorSamples)
                    {
                        context.Log("    error: " + error);
                    }
                }
                rounds.Add((phase[nullServer], phase[server]));
            }
            results.Add(new ScenarioResult(scenario, rounds));
        }
        report.AppendLine(Tables(results));
        return report.ToString();
    }

    public static string Tables(IReadOnlyList<ScenarioResult> results)
    {
        var text = new System.Text.StringBuilder();
        var ratios = new MarkdownTable("scenario", "what is compared", "goal", "server ÷ null (median)", "rounds", "CPU per profile, null ÷ server (median)", "load average");
        foreach (var result in results)
        {
            var perRound = result.Rounds.Select(r => result.Scenario.InMegabytes
                ? r.Server.Load.MegabytesPerSecond / r.Null.Load.MegabytesPerSecond
                : r.Server.Load.ProfilesPerSecond / r.Null.Load.ProfilesPerSecond).ToArray();
            var cpuRatio = result.Rounds.Select(r => r.Null.CpuMillisecondsPerProfile / r.Server.CpuMillisecondsPerProfile).ToArray();
            ratios.Add(result.Scenario.Name, result.Scenario.RatioOf, "≥ 0.5", $"**{Figures.Num(Figures.Median(perRound), "F3")}**",
                string.Join(", ", perRound.Select(r => Figures.Num(r, "F3"))),
                Figures.Spread(cpuRatio, "F3"),
                Figures.Spread([.. result.Rounds.SelectMany(r => new[] { r.Null.LoadAverage, r.Server.LoadAverage })], "F1"));
        }
        text.AppendLine(ratios.ToString());

        var rows = new List<(string, PhaseResult[])>();
        foreach (var result in results)
        {
            rows.Add((result.Scenario.Name, [.. result.Rounds.Select(r => r.Null)]));
            rows.Add((result.Scenario.Name, [.. result.Rounds.Select(r => r.Server)]));
        }
        var table = PhaseTable(rows);
        text.AppendLine(table.ToString());
        return text.ToString();
    }

    /// <summary>One row per (scenario, server): medians over the rounds with their range.</summary>
    public static MarkdownTable PhaseTable(IEnumerable<(string Scenario, PhaseResult[] Phases)> rows)
    {
        var table = new MarkdownTable("scenario", "server", "profiles/s", "MB/s", "p50 ms", "p99 ms", "errors", "RSS MB end (peak)", "server CPU cores", "CPU ms / profile", "alloc / profile", "GC pause", "load-gen CPU");
        foreach (var (scenario, phases) in rows)
        {
            table.Add(
                scenario,
                phases[0].Server,
                Figures.Spread([.. phases.Select(p => p.Load.ProfilesPerSecond)], phases.Max(p => p.Load.ProfilesPerSecond) < 100 ? "F2" : "F0"),
                Figures.Spread([.. phases.Select(p => p.Load.MegabytesPerSecond)], "F1"),
                Figures.Spread([.. phases.Select(p => p.Load.P50Ms)], "F2"),
                Figures.Spread([.. phases.Select(p => p.Load.P99Ms)], "F1"),
                phases.Sum(p => p.Load.Errors).ToString(CultureInfo.InvariantCulture),
                $"{Figures.Megabytes(phases[^1].RssEndBytes)} ({Figures.Megabytes(phases.Max(p => p.RssPeakBytes))})",
                Figures.Spread([.. phases.Select(p => p.ServerCpuCores)], "F2"),
                Figures.Spread([.. phases.Select(p => p.CpuMillisecondsPerProfile)], "F3"),
                Figures.Kilobytes(Figures.Median([.. phases.Select(p => p.AllocatedBytesPerProfile)])),
                Figures.Num(100 * Figures.Median([.. phases.Select(p => p.GcPauseShare)]), "F1") + " %",
                Figures.Num(Figures.Median([.. phases.Select(p => p.GeneratorCpuCores)]), "F2"));
        }
        return table;
    }
}

public sealed record ScenarioResult(Scenario Scenario, IReadOnlyList<(PhaseResult Null, PhaseResult Server)> Rounds);
