using System.Diagnostics;
using System.Runtime.CompilerServices;
using Pyroscope.Profiler;

// Usage: Pyroscope.Profiler.Workload [--server URL] [--app NAME] [--seconds N] [--interval-ms M] [--alloc]
// Without --server it runs unprofiled (for dotnet-trace). It prints "ready <pid>" once working
// and exits after --seconds or when its standard input closes.
var server = Arg("--server");
var app = Arg("--app") ?? "profiler-workload";
var seconds = double.Parse(Arg("--seconds") ?? "5", System.Globalization.CultureInfo.InvariantCulture);
var intervalMs = int.Parse(Arg("--interval-ms") ?? "10000", System.Globalization.CultureInfo.InvariantCulture);

await using var profiler = server is null
    ? null
    : PyroscopeProfiler.Start(new ProfilerOptions
    {
        ApplicationName = app,
        ServerAddress = server,
        UploadInterval = TimeSpan.FromMilliseconds(intervalMs),
        CollectAllocations = args.Contains("--alloc"),
        Tags = { ["workload"] = "test" },
    });

using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
var worker = new Thread(() => Workload.Run(stop.Token)) { Name = "workload", IsBackground = true };
worker.Start();
Console.WriteLine($"ready {Environment.ProcessId}");
worker.Join();
Console.WriteLine($"done {Workload.Checksum}");
return 0;

string? Arg(string name)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
}

/// <summary>Alternates 30 ms of <see cref="HotMethod"/> with 10 ms of <see cref="LightMethod"/>: a 75 % / 25 % split.</summary>
public static class Workload
{
    public const double HotShare = 0.75;
    private static readonly long HotSlice = Stopwatch.Frequency * 30 / 1000;
    private static readonly long LightSlice = Stopwatch.Frequency * 10 / 1000;

    public static double Checksum;

    public static void Run(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            Checksum += HotMethod(HotSlice);
            Checksum += LightMethod(LightSlice);
        }
    }

    /// <summary>Pure arithmetic, no allocation.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static double HotMethod(long ticks)
    {
        var end = Stopwatch.GetTimestamp() + ticks;
        var x = 1.0;
        while (Stopwatch.GetTimestamp() < end)
        {
            for (var i = 0; i < 200; i++)
            {
                x = Math.Sqrt(x * 1.000001 + i);
            }
        }
        return x;
    }

    /// <summary>Allocates small arrays while it burns, so allocation profiles have a clear top.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static double LightMethod(long ticks)
    {
        var end = Stopwatch.GetTimestamp() + ticks;
        var sum = 0.0;
        while (Stopwatch.GetTimestamp() < end)
        {
            var buffer = new byte[1024];
            buffer[^1] = 1;
            sum += buffer.Length;
        }
        return sum;
    }
}
