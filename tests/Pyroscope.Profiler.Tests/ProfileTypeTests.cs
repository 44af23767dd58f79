using System.Globalization;
using System.Text.RegularExpressions;

namespace Pyroscope.Profiler.Tests;

/// <summary>
/// Lock contention and exceptions against a workload that knows its answer: two threads fight over one
/// lock (each holding it 2 ms) and measure how long they waited; a third throws and catches an
/// InvalidOperationException every 10 ms and counts them. Sampled continuously, so nothing is scaled.
/// </summary>
[Collection(InProcessProfilerCollection.Name)]
public sealed partial class ProfileTypeTests
{
    [Fact]
    public async Task Lock_and_exception_profiles_match_what_the_workload_measured_under_upstreams_names()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await IngestCaptureServer.StartAsync();
        string output;
        await using (var workload = await WorkloadProcess.StartAsync(
            $"--server {server.Address} --app types --scenario types --seconds 3 --interval-ms 1000 --sampled-ms 1000", ct))
        {
            Assert.Equal(0, await workload.WaitForExitAsync(ct));
            output = await workload.RestOfOutputAsync(ct);
        }
        var measured = Measured().Match(output);
        Assert.True(measured.Success, output);
        var thrown = long.Parse(measured.Groups[1].Value, CultureInfo.InvariantCulture);
        var waits = long.Parse(measured.Groups[2].Value, CultureInfo.InvariantCulture);
        var waitNanos = long.Parse(measured.Groups[3].Value, CultureInfo.InvariantCulture);
        // Enough events for the ratios below to mean something. A loaded host schedules the two contenders less often:
        // one CI run measured 39 waits in 3 s (each then ≈ 28 ms long), so the floor for waits is 20.
        Assert.True(thrown > 50 && waits > 20, output);

        var pushes = server.Pushes.ToList();
        var exceptions = PprofStacks.Merge(pushes.Where(p => p.Name == "exception").Select(p => PprofStacks.Decode(p.Profile)));
        var lockCount = PprofStacks.Merge(pushes.Where(p => p.Name == "lock").Select(p => PprofStacks.Decode(p.Profile)).Where(p => p.SampleType == "lock_count"));
        var lockTime = PprofStacks.Merge(pushes.Where(p => p.Name == "lock").Select(p => PprofStacks.Decode(p.Profile)).Where(p => p.SampleType == "lock_time"));
        Assert.Equal(("exception", "count"), (exceptions.SampleType, exceptions.SampleUnit));
        Assert.Equal(("lock_count", "count"), (lockCount.SampleType, lockCount.SampleUnit));
        Assert.Equal(("lock_time", "nanoseconds"), (lockTime.SampleType, lockTime.SampleUnit));

        // Every throw counted once, on the throwing stack, with the exception's type as the leaf frame.
        var known = exceptions.Samples.Where(s => s.RootFirst[^1] == "System.InvalidOperationException").ToList();
        Assert.All(known, s => Assert.EndsWith(".KnownTypes.Throw", s.RootFirst[^2], StringComparison.Ordinal));
        Assert.InRange(known.Sum(s => s.Value), thrown - 2, thrown);

        // Contention on the workload's lock: as many waits (those over 100 µs are what it could count) and
        // as much waiting as it measured itself, all under KnownTypes.Contend.
        var contend = lockTime.TotalEndingWith(".KnownTypes.Contend");
        Assert.True(contend >= 0.95 * lockTime.Total, $"lock time outside Contend: {lockTime.Total - contend} of {lockTime.Total}\n" + string.Join("\n", lockTime.Samples.Where(s => !s.RootFirst.Any(f => f.EndsWith(".KnownTypes.Contend", StringComparison.Ordinal))).OrderByDescending(s => s.Value).Take(8).Select(s => s.Value + " " + string.Join(";", s.RootFirst))));
        Assert.InRange((double)contend / waitNanos, 0.8, 1.25);
        Assert.InRange((double)lockCount.TotalEndingWith(".KnownTypes.Contend") / waits, 0.9, 1.5);
    }

    [GeneratedRegex(@"thrown (\d+) waits (\d+) wait-ns (\d+)")]
    private static partial Regex Measured();
}
