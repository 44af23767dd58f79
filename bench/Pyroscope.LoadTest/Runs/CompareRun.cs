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
        var floors = new List<NullServerProcess>();
        try
        {
            if (options.Floors)
            {
                foreach (var work in (NullWork[])[NullWork.Wal, NullWork.PprofRead, NullWork.PprofReadAndWal])
                {
                    floors.Add(await NullServerProcess.StartAsync(cancellationToken, work, context.DataRoot, options.WalFsync));
                }
            }
            foreach (var name in options.Scenarios)
            {
                results.Add(await RunScenarioAsync(name, nullServer, floors, cancellationToken));
            }
        }
        finally
        {
            foreach (var floor in floors)
            {
                await floor.DisposeAsync();
            }
        }
        report.AppendLine(Tables(results));
        return report.ToString();
    }

    private async Task<ScenarioResult> RunScenarioAsync(string name, IServerUnderTest nullServer, IReadOnlyList<IServerUnderTest> floors, CancellationToken cancellationToken)
    {
        var scenario = context.Scenario(name, options);
        context.Log($"scenario {name}: {scenario.Workload.Description}");
        await using var server = await scenario.StartAsync(cancellationToken);
        var rounds = new List<(PhaseResult Null, PhaseResult Server)>();
        var floorRounds = new List<IReadOnlyList<PhaseResult>>();
        var warmedUp = new HashSet<IServerUnderTest>();
        List<IServerUnderTest> targets = [nullServer, .. floors, server];
        for (var round = 0; round < options.Rounds; round++)
        {
            // Alternate the order, so drift on a shared machine does not always favour the same side.
            IEnumerable<IServerUnderTest> order = round % 2 == 0 ? targets : Enumerable.Reverse(targets);
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
            floorRounds.Add([.. floors.Select(f => phase[f])]);
        }
        return new ScenarioResult(scenario, rounds, floors.Count > 0 ? floorRounds : null);
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
        if (results.Any(r => r.Floors is not null))
        {
            text.AppendLine(FloorTable(results).ToString());
        }

        var rows = new List<(string, PhaseResult[])>();
        foreach (var result in results)
        {
            rows.Add((result.Scenario.Name, [.. result.Rounds.Select(r => r.Null)]));
            if (result.Floors is { } floors)
            {
                for (var f = 0; f < floors[0].Count; f++)
                {
                    rows.Add((result.Scenario.Name, [.. floors.Select(r => r[f])]));
                }
            }
            rows.Add((result.Scenario.Name, [.. result.Rounds.Select(r => r.Server)]));
        }
        var table = PhaseTable(rows);
        text.AppendLine(table.ToString());
        return text.ToString();
    }

    /// <summary>
    /// Per scenario and floor: the floor against the null server (what that piece of the write path alone costs the
    /// goal's ratio, i.e. the best any server doing it can reach) and the server against the floor; medians of the rounds.
    /// </summary>
    private static MarkdownTable FloorTable(IReadOnlyList<ScenarioResult> results)
    {
        var table = new MarkdownTable("scenario", "floor", "floor ÷ null (median)", "rounds", "server ÷ floor (median)", "rounds", "CPU ms / profile: null, floor, server (medians)");
        foreach (var result in results)
        {
            if (result.Floors is not { } floors)
            {
                continue;
            }
            double Rate(PhaseResult p) => result.Scenario.InMegabytes ? p.Load.MegabytesPerSecond : p.Load.ProfilesPerSecond;
            for (var f = 0; f < floors[0].Count; f++)
            {
                var floorOverNull = result.Rounds.Select((r, i) => Rate(floors[i][f]) / Rate(r.Null)).ToArray();
                var serverOverFloor = result.Rounds.Select((r, i) => Rate(r.Server) / Rate(floors[i][f])).ToArray();
                table.Add(result.Scenario.Name, floors[0][f].Server,
                    $"**{Figures.Num(Figures.Median(floorOverNull), "F3")}**", string.Join(", ", floorOverNull.Select(r => Figures.Num(r, "F3"))),
                    $"**{Figures.Num(Figures.Median(serverOverFloor), "F3")}**", string.Join(", ", serverOverFloor.Select(r => Figures.Num(r, "F3"))),
                    string.Join(", ",
                        Figures.Num(Figures.Median([.. result.Rounds.Select(r => r.Null.CpuMillisecondsPerProfile)]), "F3"),
                        Figures.Num(Figures.Median([.. floors.Select(r => r[f].CpuMillisecondsPerProfile)]), "F3"),
                        Figures.Num(Figures.Median([.. result.Rounds.Select(r => r.Server.CpuMillisecondsPerProfile)]), "F3")));
            }
        }
        return table;
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

/// <param name="Floors">Per round, the null server's floors in the order they ran (<see cref="NullWork"/>); null without <c>--floors</c>.</param>
public sealed record ScenarioResult(Scenario Scenario, IReadOnlyList<(PhaseResult Null, PhaseResult Server)> Rounds, IReadOnlyList<IReadOnlyList<PhaseResult>>? Floors = null);
