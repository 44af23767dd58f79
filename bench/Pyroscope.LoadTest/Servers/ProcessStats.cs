using System.Diagnostics;
using System.Globalization;

namespace Pyroscope.LoadTest.Servers;

/// <summary>CPU time and resident memory of the processes that make up a server, read from /proc.</summary>
public static class ProcessStats
{
    /// <summary>User + system CPU of all the processes so far.</summary>
    public static TimeSpan CpuTime(IReadOnlyList<int> pids)
    {
        var total = TimeSpan.Zero;
        foreach (var pid in pids)
        {
            using var process = Process.GetProcessById(pid);
            total += process.TotalProcessorTime;
        }
        return total;
    }

    /// <summary>Resident set size (VmRSS) summed over the processes, in bytes.</summary>
    public static long ResidentBytes(IReadOnlyList<int> pids)
    {
        long total = 0;
        foreach (var pid in pids)
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    var kb = line["VmRSS:".Length..].Trim().Split(' ')[0];
                    total += long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
                    break;
                }
            }
        }
        return total;
    }
}

/// <summary>Samples RSS on a timer while a phase runs: the peak, and every sample for the soak's drift.</summary>
public sealed class RssSampler : IAsyncDisposable
{
    private readonly IReadOnlyList<int> _pids;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly Lock _lock = new();
    private readonly List<(TimeSpan At, long Bytes)> _samples = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public RssSampler(IReadOnlyList<int> pids, TimeSpan every)
    {
        _pids = pids;
        Sample();
        _loop = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(every);
            try
            {
                while (await timer.WaitForNextTickAsync(_stop.Token))
                {
                    Sample();
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
    }

    public IReadOnlyList<(TimeSpan At, long Bytes)> Samples
    {
        get
        {
            lock (_lock)
            {
                return [.. _samples];
            }
        }
    }

    public long Peak
    {
        get
        {
            long peak = 0;
            foreach (var (_, bytes) in Samples)
            {
                peak = Math.Max(peak, bytes);
            }
            return peak;
        }
    }

    private void Sample()
    {
        long bytes;
        try
        {
            bytes = ProcessStats.ResidentBytes(_pids);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return; // the process is exiting
        }
        lock (_lock)
        {
            _samples.Add((_clock.Elapsed, bytes));
        }
    }

    /// <summary>Stops sampling, taking one last sample.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        Sample();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync();
        }
        _stop.Dispose();
    }
}
