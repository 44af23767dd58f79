using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using Pyroscope.Profiler;

// Usage: Pyroscope.Profiler.Overhead [--rounds N] [--phase-seconds S] [--threads T] [--phases off,cpu,wall,lock,exception,alloc,defaults,all]
// Each round runs the same fixed amount of work once per phase: without the profiler (off), with one
// profile type at a time, with the defaults (cpu, wall, lock, exception: 1 s sampled of every 10 s) and
// with every type (defaults + allocations). Pushes go through the real push exporter into an HTTP
// handler that answers 200 without a network. Process CPU time is compared with the off phase of the
// same round; the median ratio per phase is its overhead. RSS: the most the process's resident memory
// grew while the phase ran, over what it was just before the profiler started. Phase order rotates
// between rounds to cancel drift. Phases should span several 10 s windows (--phase-seconds 30+): a
// duty-cycled profiler costs nothing between its sampled seconds.
var rounds = IntArg("--rounds", 3);
var phaseSeconds = IntArg("--phase-seconds", 12);
var threads = IntArg("--threads", 2);
var phases = (StringArg("--phases") ?? "off,cpu,wall,lock,exception,alloc,defaults,all").Split(',');

var iterations = Calibrate(TimeSpan.FromSeconds(phaseSeconds), threads);
Console.WriteLine($"work: {iterations} iterations x {threads} threads (~{phaseSeconds} s per phase), {rounds} rounds, phases {string.Join(", ", phases)}");
var results = phases.ToDictionary(p => p, _ => new List<(double Cpu, double Wall, double RssMb)>());
for (var round = 0; round < rounds; round++)
{
    for (var i = 0; i < phases.Length; i++)
    {
        var phase = phases[(i + round) % phases.Length];
        var measured = await MeasureAsync(phase, iterations, threads);
        results[phase].Add(measured);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"round {round + 1} {phase,-10} cpu {measured.Cpu:F3} s, wall {measured.Wall:F1} s, rss +{measured.RssMb:F1} MB"));
    }
}
if (results.TryGetValue("off", out var off))
{
    Console.WriteLine("| phase | CPU vs off (median of rounds) | profiler CPU per wall second | RSS growth (median) |");
    Console.WriteLine("|---|---|---|---|");
    foreach (var phase in phases)
    {
        var ratios = new List<double>();
        var perSecond = new List<double>();
        for (var r = 0; r < rounds; r++)
        {
            ratios.Add(results[phase][r].Cpu / off[r].Cpu);
            perSecond.Add((results[phase][r].Cpu - off[r].Cpu) / results[phase][r].Wall);
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {phase} | {(Median(ratios) - 1) * 100:+0.00;-0.00} % | {Median(perSecond) * 1000:F1} ms | {Median(results[phase].Select(m => m.RssMb).ToList()):F1} MB |"));
    }
}
return 0;

static async Task<(double Cpu, double Wall, double RssMb)> MeasureAsync(string phase, long iterations, int threads)
{
    IAsyncDisposable? profiler = null;
    using var http = new HttpClient(new AcceptEverything());
    GC.Collect();
    var rssBefore = Rss.Megabytes();
    using var rss = new Rss();
    if (phase != "off")
    {
        var options = new ProfilerOptions { ApplicationName = "overhead-bench", ServerAddress = "http://bench.invalid:4040" };
        if (phase is not ("defaults" or "all"))
        {
            options.CpuEnabled = phase == "cpu";
            options.WallEnabled = phase == "wall";
            options.LockEnabled = phase == "lock";
            options.ExceptionEnabled = phase == "exception";
            options.SpanProfiles = false;
        }
        options.CollectAllocations = phase is "alloc" or "all";
        profiler = PyroscopeProfiler.Start(options, httpClient: http);
        // Steady state only: the start (initial rundown) is a one-off cost.
        Work.Run(iterations / 20, threads);
    }
    var process = Process.GetCurrentProcess();
    process.Refresh();
    var before = process.TotalProcessorTime;
    var wall = Stopwatch.StartNew();
    Work.Run(iterations, threads);
    wall.Stop();
    process.Refresh();
    var cpu = (process.TotalProcessorTime - before).TotalSeconds;
    var grown = Math.Max(0, rss.PeakMegabytes - rssBefore);
    if (profiler is not null)
    {
        await profiler.DisposeAsync();
    }
    return (cpu, wall.Elapsed.TotalSeconds, grown);
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

string? StringArg(string name)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
}

int IntArg(string name, int fallback)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
}

/// <summary>A server-ish mix: dictionary work, string formatting, sorting, small allocations, a shared lock, a rare exception.</summary>
internal static class Work
{
    public static long Sink;
    private static readonly object Gate = new();

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
        lock (Gate)
        {
            Sink += values[1];
        }
        if (seed % 200 == 0)
        {
            try
            {
                throw new InvalidOperationException("rare");
            }
            catch (InvalidOperationException)
            {
                Sink++;
            }
        }
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

/// <summary>The process's resident memory (VmRSS), and its peak while an instance lives (sampled every 50 ms).</summary>
internal sealed class Rss : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;

    public Rss()
    {
        PeakMegabytes = Megabytes();
        _thread = new Thread(() =>
        {
            while (!_stop.Token.WaitHandle.WaitOne(50))
            {
                PeakMegabytes = Math.Max(PeakMegabytes, Megabytes());
            }
        }) { IsBackground = true };
        _thread.Start();
    }

    public double PeakMegabytes { get; private set; }

    public static double Megabytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
            }
        }
        return double.NaN;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _thread.Join();
        _stop.Dispose();
    }
}
