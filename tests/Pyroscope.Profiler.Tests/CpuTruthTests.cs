using System.Globalization;
using Pyroscope.Contracts.Google.V1;

namespace Pyroscope.Profiler.Tests;

/// <summary>
/// The CPU profile against the OS's own numbers: a workload with one thread burning CPU in a known
/// method and three that block, sleep and spin-then-block, profiled duty-cycled (400 ms of every 4 s,
/// the default's tenth, so every value is scaled about ×10), idle and with both cores saturated by another process. Each full
/// window's CPU total must be the process's OS CPU time over that window within ±10 %, the burner must
/// hold ≥ 95 % of the workload threads' CPU and the waiting methods ≤ 2 % of it. (The
/// rest of the process — thread-pool spinning, EventPipe's native sampler, the CPU log — is real CPU
/// and in the profile too, under its own frames.) The profiled process is a child, so this class runs
/// beside the others; its two tests run one after the other (the loaded one's load must not reach the idle one).
/// </summary>
public sealed class CpuTruthTests
{
    private const int IntervalMs = 4000;

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
        await using (var hog = loaded ? await WorkloadProcess.StartAsync($"--scenario hog --threads {Environment.ProcessorCount} --seconds 60", ct) : null)
        await using (var workload = await WorkloadProcess.StartAsync(
            $"--server {server.Address} --app truth --scenario truth --seconds 13 --interval-ms {IntervalMs} --sampled-ms 400 --cpu-log {cpuLog}", ct,
            // Tiered compilation re-jits hot code (the profiler's own parsing first) on a background thread
            // during the first minute: real CPU, but noise for a test of where the workload's CPU goes.
            new Dictionary<string, string> { ["DOTNET_TieredCompilation"] = "0" }))
        {
            Assert.Equal(0, await workload.WaitForExitAsync(ct));
        }

        var timeline = File.ReadAllLines(cpuLog).Select(line => line.Split(' ')).Select(p => (Unix: long.Parse(p[0], CultureInfo.InvariantCulture), Cpu: long.Parse(p[1], CultureInfo.InvariantCulture))).ToList();
        var windows = server.Pushes.Where(p => p.Name == "process_cpu")
            .Select(p => Profile.Parser.ParseFrom(Gunzip(p.Profile)))
            .Where(p => p.DurationNanos >= IntervalMs * 900_000L && p.TimeNanos + p.DurationNanos <= timeline[^1].Unix)
            .OrderBy(p => p.TimeNanos)
            .Skip(1) // the first window holds the start (JIT of every thread's code: real CPU of the waiting methods too)
            .ToList();
        Assert.True(windows.Count >= 2, $"only {windows.Count} full windows");
        var report = new List<string>();
        foreach (var window in windows)
        {
            var stacks = PprofStacks.From(window);
            var os = CpuAt(timeline, window.TimeNanos + window.DurationNanos) - CpuAt(timeline, window.TimeNanos);
            var burner = (double)stacks.TotalEndingWith(".Truth.Burner") / stacks.Total;
            var waiting = (double)(stacks.TotalEndingWith(".Truth.BlockedWaiter") + stacks.TotalEndingWith(".Truth.Sleeper") + stacks.TotalEndingWith(".Truth.SpinThenBlock")) / stacks.Total;
            var top = stacks.Samples.Where(x => !x.RootFirst.Any(f => f.EndsWith(".Truth.Burner", StringComparison.Ordinal)))
                .GroupBy(x => x.RootFirst[^1]).Select(g => (g.Key, g.Sum(x => x.Value))).OrderByDescending(g => g.Item2).Take(4);
            report.Add("besides the burner: " + string.Join(", ", top.Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Key} {t.Item2 / 1e6:F0} ms"))));
            report.Add(string.Create(CultureInfo.InvariantCulture, $"profile {stacks.Total / 1e6:F0} ms vs OS {os / 1e6:F0} ms ({(double)stacks.Total / os:F3}), burner {burner:P1}, waiting {waiting:P2}"));
        }
        var message = string.Join("; ", report);
        foreach (var window in windows)
        {
            var stacks = PprofStacks.From(window);
            var os = CpuAt(timeline, window.TimeNanos + window.DurationNanos) - CpuAt(timeline, window.TimeNanos);
            var burner = stacks.TotalEndingWith(".Truth.Burner");
            var waiting = stacks.TotalEndingWith(".Truth.BlockedWaiter") + stacks.TotalEndingWith(".Truth.Sleeper") + stacks.TotalEndingWith(".Truth.SpinThenBlock");
            // Every thread of the process is in the profile, the OS's view of it included.
            Assert.True(Math.Abs((double)stacks.Total / os - 1) <= 0.10, message);
            // Of the workload's four threads' CPU, the burner has it and the waiting methods (nearly) none. (Of
            // the whole profile too on a quiet machine; on a saturated one the burner gets a small slice of a
            // core while the process's own real CPU — thread pool, runtime — does not shrink with it.)
            Assert.True(burner >= 0.95 * (burner + waiting), message);
            Assert.True(waiting <= 0.02 * (burner + waiting), message);
        }
        TestContext.Current.TestOutputHelper?.WriteLine(message);
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
