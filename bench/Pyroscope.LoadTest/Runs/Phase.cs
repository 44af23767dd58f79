using System.Diagnostics;
using Pyroscope.LoadTest.Load;
using Pyroscope.LoadTest.Servers;
using Pyroscope.LoadTest.Workload;

namespace Pyroscope.LoadTest.Runs;

/// <summary>One server under one load for a fixed time, and everything measured about it meanwhile.</summary>
public sealed record PhaseResult(
    string Server,
    LoadResult Load,
    double ServerCpuCores,
    double GeneratorCpuCores,
    long RssEndBytes,
    long RssPeakBytes,
    double AllocatedBytesPerProfile,
    double GcPauseShare,
    IReadOnlyList<(TimeSpan At, long Bytes)> RssSamples,
    double LoadAverage)
{
    /// <summary>Server CPU per stored profile: less sensitive than throughput to what else runs on the machine.</summary>
    public double CpuMillisecondsPerProfile => Load.Profiles > 0 ? ServerCpuCores * Load.Seconds * 1000 / Load.Profiles : double.NaN;
}

public sealed record PhasePlan(IWorkload Workload, int Connections, TimeSpan Warmup, TimeSpan Measure, double? RatePerSecond = null, TimeSpan? RssEvery = null);

public static class Phase
{
    /// <summary>Warm-up (at least until the server answered once), then the measured window: throughput and latency from the generator, CPU and RSS from /proc, allocations and GC pauses from the server's /metrics.</summary>
    public static async Task<PhaseResult> RunAsync(IServerUnderTest server, PhasePlan plan, CancellationToken cancellationToken, Action<string>? progress = null)
    {
        using var generator = new LoadGenerator(server.Address, plan.Workload, plan.Connections) { RatePerSecond = plan.RatePerSecond };
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var running = generator.RunAsync(stop.Token);
        try
        {
            await Task.Delay(plan.Warmup, cancellationToken);
            // A cold server (JIT, first segment) answering its first request after the window would measure nothing.
            while (generator.Completed == 0 && !running.IsCompleted)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken);
            }
            var counters0 = await server.ReadCountersAsync(cancellationToken);
            var cpu0 = ProcessStats.CpuTime(server.ProcessIds);
            var self0 = Process.GetCurrentProcess().TotalProcessorTime;
            await using var rss = new RssSampler(server.ProcessIds, plan.RssEvery ?? TimeSpan.FromSeconds(1));
            var clock = Stopwatch.StartNew();
            generator.StartRecording();
            await WaitReportingAsync(plan.Measure, progress, cancellationToken);
            var load = generator.StopRecording();
            var wall = clock.Elapsed.TotalSeconds;
            var cpu1 = ProcessStats.CpuTime(server.ProcessIds);
            var self1 = Process.GetCurrentProcess().TotalProcessorTime;
            await rss.StopAsync();
            var counters = await server.ReadCountersAsync(cancellationToken) - counters0;
            var samples = rss.Samples;
            return new PhaseResult(
                server.Name,
                load,
                (cpu1 - cpu0).TotalSeconds / wall,
                (self1 - self0).TotalSeconds / wall,
                samples[^1].Bytes,
                rss.Peak,
                load.Profiles > 0 ? counters.AllocatedBytes / load.Profiles : double.NaN,
                counters.GcPauseSeconds / wall,
                samples,
                double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture));
        }
        finally
        {
            await stop.CancelAsync();
            await running;
        }
    }

    private static async Task WaitReportingAsync(TimeSpan duration, Action<string>? progress, CancellationToken cancellationToken)
    {
        if (progress is null || duration < TimeSpan.FromMinutes(1))
        {
            await Task.Delay(duration, cancellationToken);
            return;
        }
        var end = DateTime.UtcNow + duration;
        while (DateTime.UtcNow < end)
        {
            var left = end - DateTime.UtcNow;
            await Task.Delay(left < TimeSpan.FromMinutes(1) ? left : TimeSpan.FromMinutes(1), cancellationToken);
            progress($"  … {(duration - (end - DateTime.UtcNow)).TotalMinutes:F0} of {duration.TotalMinutes:F0} min");
        }
    }
}
