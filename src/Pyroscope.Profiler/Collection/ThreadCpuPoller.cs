using System.Collections.Concurrent;
using System.Diagnostics;

namespace Pyroscope.Profiler.Collection;

/// <summary>
/// Reads every thread's OS CPU clock every <see cref="PollInterval"/> while a session samples, with
/// <see cref="Stopwatch"/> timestamps — the clock EventPipe stamps samples with — so the collector can
/// charge each sample with the CPU its thread really used around it. Idle between sampled spans.
/// </summary>
internal sealed class ThreadCpuPoller : IDisposable
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(10);
    private const int PollsPerThreadListing = 10;

    private readonly ConcurrentQueue<CpuReading> _readings = new();
    private readonly List<int> _threads = [];
    private readonly object _pollGate = new();
    private readonly ManualResetEventSlim _active = new(false);
    private readonly CancellationTokenSource _disposed = new();
    private readonly Thread _thread;
    private int _pollsSinceListing = PollsPerThreadListing;

    public ThreadCpuPoller()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "Pyroscope.Profiler CPU clocks" };
        _thread.Start();
    }

    public ConcurrentQueue<CpuReading> Readings => _readings;

    /// <summary>Starts polling (after one reading at once, the baseline of the session's first samples).</summary>
    public void Start()
    {
        _readings.Clear();
        lock (_pollGate)
        {
            _pollsSinceListing = PollsPerThreadListing;
        }
        PollNow();
        _active.Set();
    }

    /// <summary>Stops polling after a last reading, which closes the session's last samples.</summary>
    public void Stop()
    {
        _active.Reset();
        PollNow();
    }

    public void PollNow()
    {
        lock (_pollGate)
        {
            if (++_pollsSinceListing >= PollsPerThreadListing)
            {
                OsThreads.ListThreads(_threads);
                _pollsSinceListing = 0;
            }
            foreach (var thread in _threads)
            {
                var cpu = OsThreads.CpuNanos(thread);
                if (cpu >= 0)
                {
                    _readings.Enqueue(new CpuReading(thread, Stopwatch.GetTimestamp(), cpu));
                }
            }
        }
    }

    /// <summary>Every thread's CPU clock now (a window's boundary), read on the calling thread.</summary>
    public Dictionary<int, long> Snapshot()
    {
        var threads = new List<int>();
        OsThreads.ListThreads(threads);
        var cpu = new Dictionary<int, long>(threads.Count);
        foreach (var thread in threads)
        {
            var nanos = OsThreads.CpuNanos(thread);
            if (nanos >= 0)
            {
                cpu[thread] = nanos;
            }
        }
        return cpu;
    }

    private void Run()
    {
        var token = _disposed.Token;
        try
        {
            while (!token.IsCancellationRequested)
            {
                _active.Wait(token);
                if (token.WaitHandle.WaitOne(PollInterval))
                {
                    return;
                }
                if (_active.IsSet)
                {
                    PollNow();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public void Dispose()
    {
        _disposed.Cancel();
        _thread.Join(TimeSpan.FromSeconds(2));
        _disposed.Dispose();
        _active.Dispose();
    }
}

/// <summary>OS thread <paramref name="Thread"/> had used <paramref name="CpuNanos"/> of CPU at <paramref name="Timestamp"/>.</summary>
internal readonly record struct CpuReading(int Thread, long Timestamp, long CpuNanos);
