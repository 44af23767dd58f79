using System.Globalization;
using Pyroscope.Profiler;
using Pyroscope.Profiler.Workload;

// Usage: Pyroscope.Profiler.Workload [--server URL] [--app NAME] [--seconds N] [--interval-ms M] [--sampled-ms S]
//        [--alloc] [--scenario hot|truth|hog|types] [--threads T] [--cpu-log FILE]
// Without --server it runs unprofiled (for dotnet-trace). It prints "ready <pid>" once working and
// "stopped <unix nanos>" when --seconds were over, then exits. Scenarios: hot (75 % HotMethod / 25 % LightMethod, the default), truth (one burner and
// threads that block, sleep and spin-then-block; --cpu-log records the process's OS CPU time), hog (T
// threads burning, a load generator), types (known lock contention and exceptions).
var server = Arg("--server");
var app = Arg("--app") ?? "profiler-workload";
var seconds = double.Parse(Arg("--seconds") ?? "5", CultureInfo.InvariantCulture);
var intervalMs = int.Parse(Arg("--interval-ms") ?? "10000", CultureInfo.InvariantCulture);
var sampledMs = Arg("--sampled-ms") is { } sampled ? int.Parse(sampled, CultureInfo.InvariantCulture) : (int?)null;
var scenario = Arg("--scenario") ?? "hot";

using var cpuLog = Arg("--cpu-log") is { } path ? new ProcessCpuLog(path) : null;
await using var profiler = server is null
    ? null
    : PyroscopeProfiler.Start(new ProfilerOptions
    {
        ApplicationName = app,
        ServerAddress = server,
        UploadInterval = TimeSpan.FromMilliseconds(intervalMs),
        SampledDurationPerInterval = sampledMs is { } ms ? TimeSpan.FromMilliseconds(ms) : TimeSpan.FromSeconds(1),
        CollectAllocations = args.Contains("--alloc"),
        Tags = { ["workload"] = "test" },
    });

using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
var stoppedAt = 0L;
stop.Token.Register(() => stoppedAt = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100);
var threads = scenario switch
{
    "truth" => Truth.Start(stop.Token),
    "hog" => Hog.Start(int.Parse(Arg("--threads") ?? "2", CultureInfo.InvariantCulture), stop.Token),
    "types" => KnownTypes.Start(stop.Token),
    _ => [HotAndLight.Start(stop.Token)],
};
Console.WriteLine($"ready {Environment.ProcessId}");
foreach (var thread in threads)
{
    thread.Join();
}
if (scenario == "types")
{
    Console.WriteLine($"thrown {KnownTypes.Thrown} waits {KnownTypes.Waits} wait-ns {KnownTypes.WaitNanos}");
}
// When the scenario's threads were told to stop (Unix nanoseconds): windows after it are not the scenario's.
Console.WriteLine($"stopped {stoppedAt}");
Console.WriteLine("done");
return 0;

string? Arg(string name)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
}
