using System.Globalization;
using Pyroscope.Contracts.Google.V1;

namespace Pyroscope.Profiler.Tests;

/// <summary>
/// The CPU profile against the OS's own numbers: a workload with one thread at a time burning CPU in a
/// known method (a fresh burner thread every 1.5 s, so busy threads exit inside windows) and threads that
/// block, sleep and spin-then-block (waking once a second: their own CPU must not rival a starved
/// burner's), profiled duty-cycled (200 ms of every 2 s, the default's tenth, so
/// every value is scaled about ×10), idle and with both cores saturated by another process. Each window's
/// CPU total must be the process's OS CPU time over that window within ±10 %, the burners must hold ≥ 95 %
/// of the workload threads' CPU and the waiting methods ≤ 2 % of it (the spin before a block is CPU,
/// and counted with the workload's). (The rest of the process —
/// thread-pool spinning, EventPipe's native threads, the CPU log — is real CPU and in the profile too,
/// under its own frames; so is what threads used after their last CPU reading before they exited.) The
/// profiled process is a child, so this class runs beside the others; its two tests run one after the
/// other (the loaded one's load must not reach the idle one).
/// <para>
/// Under load the sampled span's share of a thread's CPU is anything but its share of the window: the
/// profile once fell to 0.46 of the OS when the burner exited inside a window and its CPU was
/// extrapolated from the span (or lost), and EventPipe's own session threads, which exit with every
/// session, were never counted (3–7 %). The total is now the process's CPU clock over the window, each
/// thread's the OS's per-thread clock, so the bound holds however the scheduler treats the process.
/// </para>
/// </summary>
[Collection(InProcessProfilerCollection.Name)]
public sealed class CpuTruthTests
{
    private const int IntervalMs = 2000;

    [Fact]
    public Task Cpu_profile_matches_the_os_on_an_idle_machine() => AssertTruthAsync(loaded: false);

    [Fact]
    public Task Cpu_profile_matches_the_os_with_both_cores_saturated_by_another_process() => AssertTruthAsync(loaded: true);

    private static async Task AssertTruthAsync(bool loaded)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "per-thread CPU clocks are read on Linux");
        var ct = TestContext.Current.CancellationToken;
        await using var server = await IngestCaptureServer.StartAsync();
        var cpuLog = Path.Combine(Directory.CreateTempSubdirectory("cpu-truth-").FullName, "cpu.log");
        long stoppedAt;
        await using (var hog = loaded ? await WorkloadProcess.StartAsync($"--scenario hog --threads {Environment.ProcessorCount} --seconds 60", ct) : null)
        await using (var workload = await WorkloadProcess.StartAsync(
            $"--server {server.Address} --app truth --scenario truth --seconds 10 --interval-ms {IntervalMs} --sampled-ms 200 --cpu-log {cpuLog}", ct,
            // Tiered compilation re-jits hot code (the profiler's own parsing first) on a background thread
            // during the first minute: real CPU, but noise for a test of where the workload's CPU goes.
            new Dictionary<string, string> { ["DOTNET_TieredCompilation"] = "0" }))
        {
            Assert.Equal(0, await workload.WaitForExitAsync(ct));
            var output = await workload.RestOfOutputAsync(ct);
            var stopped = output.Split('\n').Single(line => line.StartsWith("stopped ", StringComparison.Ordinal));
            stoppedAt = long.Parse(stopped["stopped ".Length..], CultureInfo.InvariantCulture);
        }

        var timeline = File.ReadAllLines(cpuLog).Select(line => line.Split(' ')).Select(p => (Unix: long.Parse(p[0], CultureInfo.InvariantCulture), Cpu: long.Parse(p[1], CultureInfo.InvariantCulture))).ToList();
        // Every window of the scenario's run but the first (it holds the start: the JIT of every thread's
        // code, real CPU of the waiting methods too), however long: under load a window can run late.
        var windows = server.Pushes.Where(p => p.Name == "process_cpu")
            .Select(p => Profile.Parser.ParseFrom(Gunzip(p.Profile)))
            .Where(p => p.TimeNanos + p.DurationNanos <= stoppedAt)
            .OrderBy(p => p.TimeNanos)
            .Skip(1)
            .ToList();
        Assert.True(windows.Count >= 2, $"only {windows.Count} windows after the first");
        var results = windows.Select(window => Measure(window, timeline)).ToList();
        var message = string.Join("; ", results.Select(r => r.Report));
        foreach (var (total, os, burner, spinning, waiting, _) in results)
        {
            // Every thread of the process is in the profile, the OS's view of it included. ±10 % is issue 15's
            // bound, not a fit to the noise: the profile's total is the OS's per-thread and process clocks over
            // the window, so all that is left is its ends against the CPU log's 5 ms readings (0.97–1.02 over
            // 78 windows, idle and with both cores saturated); the accounting this replaced gave 0.48–2.50.
            Assert.True(Math.Abs((double)total / os - 1) <= 0.10, message);
            // Of the workload's threads' CPU, the burners have it and the waiting methods (nearly) none; the
            // spin before a block is real CPU, counted as neither. (Of the whole profile too on a quiet
            // machine; on a saturated one the burner gets a small slice of a core while the process's own
            // real CPU — thread pool, runtime — does not shrink with it.)
            var workloadCpu = burner + spinning + waiting;
            Assert.True(burner >= 0.95 * workloadCpu, message);
            Assert.True(waiting <= 0.02 * workloadCpu, message);
        }
        TestContext.Current.TestOutputHelper?.WriteLine(message);
    }

    private static (long Total, double Os, long Burner, long Spinning, long Waiting, string Report) Measure(Profile window, List<(long Unix, long Cpu)> timeline)
    {
        var stacks = PprofStacks.From(window);
        var os = CpuAt(timeline, window.TimeNanos + window.DurationNanos) - CpuAt(timeline, window.TimeNanos);
        // A burner thread the sampled span missed is in the profile by its name, without a stack.
        var burner = stacks.TotalEndingWith(".Truth.Burner") + stacks.TotalOf("[thread burner]");
        // (The relay that starts the burners is neither: blocked in Join, but starting a thread is real CPU.)
        var spinning = stacks.Samples.Where(s => s.RootFirst.Any(f => f.EndsWith(".Truth.SpinThenBlock", StringComparison.Ordinal))
            && s.RootFirst.Contains("System.Threading.SpinWait.SpinOnceCore")).Sum(s => s.Value);
        var waiting = stacks.TotalEndingWith(".Truth.BlockedWaiter") + stacks.TotalEndingWith(".Truth.Sleeper") + stacks.TotalEndingWith(".Truth.SpinThenBlock") - spinning;
        var top = stacks.Samples.Where(x => !x.RootFirst.Any(f => f.EndsWith(".Truth.Burner", StringComparison.Ordinal)))
            .GroupBy(x => x.RootFirst[^1]).Select(g => (g.Key, g.Sum(x => x.Value))).OrderByDescending(g => g.Item2).Take(4);
        var report = string.Create(CultureInfo.InvariantCulture,
            $"{window.DurationNanos / 1e9:F1} s window: profile {stacks.Total / 1e6:F0} ms vs OS {os / 1e6:F0} ms ({stacks.Total / os:F3}), burner {burner / 1e6:F1} ms, spinning {spinning / 1e6:F2} ms, waiting {waiting / 1e6:F2} ms; besides the burner: ")
            + string.Join(", ", top.Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Key} {t.Item2 / 1e6:F0} ms")));
        return (stacks.Total, os, burner, spinning, waiting, report);
    }

    /// <summary>The process's CPU nanoseconds at <paramref name="unixNanos"/>, interpolated between the 5 ms readings.</summary>
    private static double CpuAt(List<(long Unix, long Cpu)> timeline, long unixNanos)
    {
        var after = timeline.FindIndex(p => p.Unix >= unixNanos);
        Assert.True(after > 0, "window outside the CPU log");
        var (t0, c0) = timeline[after - 1];
        var (t1, c1) = timeline[after];
        return c0 + (double)(c1 - c0) * (unixNanos - t0) / Math.Max(1, t1 - t0);
    }

    private static byte[] Gunzip(byte[] bytes)
    {
        using var gzip = new System.IO.Compression.GZipStream(new MemoryStream(bytes), System.IO.Compression.CompressionMode.Decompress);
        using var plain = new MemoryStream();
        gzip.CopyTo(plain);
        return plain.ToArray();
    }
}
