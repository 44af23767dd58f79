using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using Pyroscope.Profiler;

// Usage: Pyroscope.Profiler.Overhead [--rounds N] [--phase-seconds S] [--threads T] [--compare-continuous]
// Each round runs the same fixed amount of work twice, once without and once with the profiler
// (default options: 10 s windows sampled 1 s each, cpu + wall; BENCH_ALLOC=1 adds allocation sampling; pushes through the real ingest exporter into
// an HTTP handler that answers 200 without a network). Process CPU time is compared per round;
// the median ratio is the overhead. Order alternates between rounds to cancel drift.
// Phases should span several 10 s windows (--phase-seconds 30+): a duty-cycled profiler costs
// nothing between its sampled seconds. --compare-continuous adds a third phase per round with
// continuous sampling (SampledDurationPerInterval = UploadInterval, the profiler before duty cycling).
// Diagnostics: BENCH_SAMPLED_MS=N sets SampledDurationPerInterval; BENCH_RAW=sp (bare SampleProfiler session, events parsed and dropped),
// BENCH_RAW=clr (plus the runtime provider with GC/Jit/Loader), BENCH_RAW=tracelog (TraceLog
// real-time processing without the profiler's own code) split the cost into its parts.
var rounds = IntArg("--rounds", 3);
var phaseSeconds = IntArg("--phase-seconds", 12);
var threads = IntArg("--threads", 2);
var compareContinuous = Array.IndexOf(args, "--compare-continuous") >= 0;

var iterations = Calibrate(TimeSpan.FromSeconds(phaseSeconds), threads);
Console.WriteLine($"work: {iterations} iterations x {threads} threads (~{phaseSeconds} s per phase), {rounds} rounds");
var ratios = new List<double>();
var extraCpuPerWallSecond = new List<double>();
var continuousRatios = new List<double>();
var continuousExtraCpuPerWallSecond = new List<double>();
var outsideOff = new List<double>();
var outsideOn = new List<double>();
var outsideContinuous = new List<double>();
for (var round = 0; round < rounds; round++)
{
    (double Cpu, double Wall, double Outside) off, on;
    if (round % 2 == 0)
    {
        off = await MeasureAsync(profiled: false, iterations, threads);
        on = await MeasureAsync(profiled: true, iterations, threads);
    }
    else
    {
        on = await MeasureAsync(profiled: true, iterations, threads);
        off = await MeasureAsync(profiled: false, iterations, threads);
    }
    if (compareContinuous)
    {
        var continuous = await MeasureAsync(profiled: true, iterations, threads, continuous: true);
        continuousRatios.Add(continuous.Cpu / off.Cpu);
        continuousExtraCpuPerWallSecond.Add((continuous.Cpu - off.Cpu) / continuous.Wall);
        outsideContinuous.Add(continuous.Outside);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"round {round + 1}: continuous sampling {continuous.Cpu:F3} s ({continuous.Wall:F1} s wall), ratio {continuous.Cpu / off.Cpu:F4}; outside the work's threads {continuous.Outside * 1000:F1} ms/s"));
    }
    ratios.Add(on.Cpu / off.Cpu);
    outsideOff.Add(off.Outside);
    outsideOn.Add(on.Outside);
    extraCpuPerWallSecond.Add((on.Cpu - off.Cpu) / on.Wall);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"round {round + 1}: cpu off {off.Cpu:F3} s ({off.Wall:F1} s wall), on {on.Cpu:F3} s ({on.Wall:F1} s wall), ratio {on.Cpu / off.Cpu:F4}; cpu outside the work's threads: off {off.Outside * 1000:F1} ms/s, on {on.Outside * 1000:F1} ms/s"));
}
ratios.Sort();
var median = ratios[ratios.Count / 2];
extraCpuPerWallSecond.Sort();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"median overhead: {(median - 1) * 100:F2} % (cpu time with / without profiler = {median:F4})"));
// The profiler's cost is per wall second (1 kHz sampling of every managed thread), not per unit of
// work: on a starved machine the ratio overstates what a workload with its cores to itself pays.
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"median profiler cpu: {extraCpuPerWallSecond[extraCpuPerWallSecond.Count / 2] * 1000:F1} ms per wall second ({extraCpuPerWallSecond[extraCpuPerWallSecond.Count / 2] * 100:F2} % of one core)"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"median cpu outside the work's threads: off {Median(outsideOff) * 1000:F1} ms/s, on {Median(outsideOn) * 1000:F1} ms/s"));
if (compareContinuous)
{
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"continuous sampling: median cpu outside the work's threads {Median(outsideContinuous) * 1000:F1} ms/s"));
    continuousRatios.Sort();
    continuousExtraCpuPerWallSecond.Sort();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"continuous sampling: median overhead {(continuousRatios[continuousRatios.Count / 2] - 1) * 100:F2} %, profiler cpu {continuousExtraCpuPerWallSecond[continuousExtraCpuPerWallSecond.Count / 2] * 1000:F1} ms per wall second"));
}
return 0;

static async Task<(double Cpu, double Wall, double Outside)> MeasureAsync(bool profiled, long iterations, int threads, bool continuous = false)
{
    IAsyncDisposable? profiler = null;
    using var http = new HttpClient(new AcceptEverything());
    if (profiled && Environment.GetEnvironmentVariable("BENCH_RAW") is { } raw)
    {
        var client = new Microsoft.Diagnostics.NETCore.Client.DiagnosticsClient(Environment.ProcessId);
        var providers = new List<Microsoft.Diagnostics.NETCore.Client.EventPipeProvider> { new("Microsoft-DotNETCore-SampleProfiler", System.Diagnostics.Tracing.EventLevel.Informational) };
        if (raw == "clr") providers.Add(new("Microsoft-Windows-DotNETRuntime", System.Diagnostics.Tracing.EventLevel.Verbose, 0x18 | 0x1));
        if (raw == "tracelog") providers.Add(new("Microsoft-Windows-DotNETRuntime", System.Diagnostics.Tracing.EventLevel.Verbose, 0x18));
        var session = client.StartEventPipeSession(providers, false, 64);
        var t = raw == "tracelog"
            ? new Thread(() => { using var src = Microsoft.Diagnostics.Tracing.Etlx.TraceLog.CreateFromEventPipeSession(session, Microsoft.Diagnostics.Tracing.Etlx.TraceLog.EventPipeRundownConfiguration.Enable(client)); src.Process(); })
            : new Thread(() => { var src = new Microsoft.Diagnostics.Tracing.EventPipeEventSource(session.EventStream); src.Process(); });
        t.Start();
        profiler = new RawHandle(session, t);
        Work.Run(iterations / 20, threads);
    }
    else if (profiled)
    {
        var options = new ProfilerOptions { ApplicationName = "overhead-bench", ServerAddress = "http://bench.invalid:4040", CollectAllocations = Environment.GetEnvironmentVariable("BENCH_ALLOC") == "1" };
        if (continuous)
        {
            options.SampledDurationPerInterval = options.UploadInterval;
        }
        else if (Environment.GetEnvironmentVariable("BENCH_SAMPLED_MS") is { } sampledMs)
        {
            // e.g. 100: what a window costs beyond its sampled time (session start, rundown, upload).
            options.SampledDurationPerInterval = TimeSpan.FromMilliseconds(int.Parse(sampledMs, CultureInfo.InvariantCulture));
        }
        profiler = PyroscopeProfiler.Start(options, httpClient: http);
        // Steady state only: the start (initial rundown) is a one-off cost.
        Work.Run(iterations / 20, threads);
    }
    GC.Collect();
    var process = Process.GetCurrentProcess();
    process.Refresh();
    var before = process.TotalProcessorTime;
    var wall = Stopwatch.StartNew();
    var workerCpu = Work.Run(iterations, threads);
    wall.Stop();
    process.Refresh();
    var cpu = (process.TotalProcessorTime - before).TotalSeconds;
    // CPU outside the work's own threads per wall second: the profiler's sampler, IPC and event
    // threads (plus a little GC/runtime noise, the "off" phase shows how much). Much less noisy than
    // comparing two phases on a busy machine, though it misses the stack-walk pauses the workers pay.
    var outside = (cpu - workerCpu) / wall.Elapsed.TotalSeconds;
    if (profiler is not null)
    {
        await profiler.DisposeAsync();
    }
    return (cpu, wall.Elapsed.TotalSeconds, outside);
}

static double Median(List<double> values)
{
    values.Sort();
    return values[values.Count / 2];
}

static long Calibrate(TimeSpan target, int threads)
{
    // On the work's own CPU time, not wall time: a probe slowed down by other processes would
    // otherwise make the phases far shorter than asked (and shorter than a profiler window).
    var watch = Stopwatch.StartNew();
    const long probe = 400;
    var cpuPerThread = Work.Run(probe, threads) / threads;
    var seconds = double.IsNaN(cpuPerThread) || cpuPerThread <= 0 ? watch.Elapsed.TotalSeconds : cpuPerThread;
    return Math.Max(probe, (long)(probe * target.TotalSeconds / seconds));
}

int IntArg(string name, int fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
}

/// <summary>A server-ish mix: dictionary work, string formatting, sorting, small allocations.</summary>
internal static class Work
{
    public static long Sink;

    /// <summary>Runs the work and returns the CPU seconds its own threads used.</summary>
    public static double Run(long iterations, int threads)
    {
        var workers = new Thread[threads];
        var cpu = new double[threads];
        for (var t = 0; t < threads; t++)
        {
            var index = t;
            workers[t] = new Thread(() =>
            {
                var start = ThreadCpu.Seconds();
                Iterate(iterations);
                cpu[index] = ThreadCpu.Seconds() - start;
            });
            workers[t].Start();
        }
        foreach (var worker in workers)
        {
            worker.Join();
        }
        return cpu.Sum();
    }

    private static void Iterate(long iterations)
    {
        for (var i = 0L; i < iterations; i++)
        {
            Interlocked.Add(ref Sink, OneRequest(i));
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long OneRequest(long seed)
    {
        var map = new Dictionary<string, int>();
        for (var i = 0; i < 200; i++)
        {
            map[string.Create(CultureInfo.InvariantCulture, $"key-{(seed + i) % 97}")] = i;
        }
        var values = new int[500];
        var random = new Random((int)seed);
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = random.Next();
        }
        Array.Sort(values);
        return map.Count + values[0];
    }
}

/// <summary>CPU time of the calling thread (Linux clock_gettime(CLOCK_THREAD_CPUTIME_ID); NaN elsewhere).</summary>
internal static class ThreadCpu
{
    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);

    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    public static double Seconds()
    {
        try
        {
            return ClockGetTime(3, out var time) == 0 ? time.Seconds + time.Nanoseconds / 1e9 : double.NaN;
        }
        catch (DllNotFoundException)
        {
            return double.NaN;
        }
        catch (EntryPointNotFoundException)
        {
            return double.NaN;
        }
    }
}

internal sealed class AcceptEverything : HttpMessageHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        // Read the body so its (gzip, multipart) cost is paid as with a real server.
        if (request.Content is not null)
        {
            await request.Content.CopyToAsync(Stream.Null, cancellationToken);
        }
        return new HttpResponseMessage(HttpStatusCode.OK);
    }
}

internal sealed class RawHandle(Microsoft.Diagnostics.NETCore.Client.EventPipeSession session, Thread thread) : IAsyncDisposable
{
    public ValueTask DisposeAsync() { session.Stop(); thread.Join(); session.Dispose(); return ValueTask.CompletedTask; }
}
