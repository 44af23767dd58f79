using System.Collections.Concurrent;
using System.Diagnostics;

namespace Pyroscope.Profiler.Collection;

/// <summary>
/// Reads every thread's OS CPU clock for the profiler's whole life: every <see cref="PollInterval"/>
/// while a session samples, with <see cref="Stopwatch"/> timestamps — the clock EventPipe stamps
/// samples with — so the collector can charge each sample with the CPU its thread really used around
/// it; every <see cref="IdlePollInterval"/> in between, so a thread that exits inside a window still
/// has its CPU up to its last reading (what it used after that is in the window, not by thread). <see cref="CloseWindow"/> ends one upload window and starts the
/// next: each thread's CPU in it and, from the process's own CPU clock, what no thread's readings
/// account for (threads that exited after their last reading or lived between two).
/// </summary>
internal sealed class ThreadCpuPoller : IDisposable
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(10);
    public static readonly TimeSpan IdlePollInterval = TimeSpan.FromMilliseconds(250);

    // While sampling, listing /proc/self/task every 10 ms would cost more than reading the clocks; a thread
    // born in between has its first reading within 100 ms (its samples before that are charged without one).
    private const int SamplingPollsPerListing = 10;

    private readonly ConcurrentQueue<CpuReading> _readings = new();
    private readonly List<int> _threads = [];
    private readonly object _pollGate = new();
    private readonly AutoResetEvent _wake = new(false);
    private readonly CancellationTokenSource _disposed = new();
    private readonly Thread _thread;
    private volatile bool _sampling;
    private int _pollsSinceListing;

    // The current window, under _pollGate: each thread's CPU clock when the window started (threads born
    // later started at 0) and at its latest reading, the names of the threads seen, the process's clock.
    private Dictionary<int, long> _windowStart = new();
    private Dictionary<int, long> _latest = new();
    private readonly Dictionary<int, string> _names = new();
    private long _windowStartProcess;

    public ThreadCpuPoller()
    {
        lock (_pollGate)
        {
            ReadAll(enqueue: false);
            (_windowStartProcess, WindowOpenedAt) = (OsThreads.ProcessCpuNanos(), DateTimeOffset.UtcNow);
            _windowStart = new Dictionary<int, long>(_latest);
        }
        _thread = new Thread(Run) { IsBackground = true, Name = "Pyroscope.Profiler CPU clocks" };
        _thread.Start();
    }

    public ConcurrentQueue<CpuReading> Readings => _readings;

    /// <summary>When the first window started (the same moment its CPU baselines were read).</summary>
    public DateTimeOffset WindowOpenedAt { get; private set; }

    /// <summary>Starts sampling-rate readings (after one at once, the baseline of the session's first samples).</summary>
    public void Start()
    {
        _readings.Clear();
        _sampling = true;
        PollNow();
        _wake.Set();
    }

    /// <summary>Back to the idle rate after a last reading, which closes the session's last samples.</summary>
    public void Stop()
    {
        _sampling = false;
        PollNow();
    }

    public void PollNow() => Poll(list: true);

    private void Poll(bool list)
    {
        lock (_pollGate)
        {
            ReadAll(_sampling, list);
        }
    }

    /// <summary>
    /// Ends the current window now and starts the next at the same reading: every thread's CPU in the
    /// window (an exited one's up to its last reading) and the process CPU no thread accounts for.
    /// </summary>
    public WindowCpu CloseWindow()
    {
        lock (_pollGate)
        {
            ReadAll(_sampling);
            // The process clock right after the threads' and the window's end time right after it: the
            // total the profile is held to and the moment it belongs to, as close together as they get.
            var process = OsThreads.ProcessCpuNanos();
            var endedAt = DateTimeOffset.UtcNow;
            var threads = new Dictionary<int, long>(_latest.Count);
            long observed = 0;
            foreach (var (thread, latest) in _latest)
            {
                var cpu = latest - _windowStart.GetValueOrDefault(thread);
                if (cpu > 0)
                {
                    threads[thread] = cpu;
                    observed += cpu;
                }
            }
            var exitedNames = new Dictionary<int, string>();
            var live = new Dictionary<int, long>(_threads.Count);
            foreach (var thread in _threads)
            {
                if (_latest.TryGetValue(thread, out var cpu))
                {
                    live[thread] = cpu;
                }
            }
            foreach (var (thread, name) in _names)
            {
                if (!live.ContainsKey(thread))
                {
                    exitedNames[thread] = name;
                }
            }
            foreach (var thread in exitedNames.Keys)
            {
                _names.Remove(thread);
            }
            // Reading the threads and the process one after the other is not atomic: the few microseconds
            // between them cancel out over a window, never go below zero.
            var unobserved = Math.Max(0, process - _windowStartProcess - observed);
            _windowStart = live;
            _latest = new Dictionary<int, long>(live);
            _windowStartProcess = process;
            return new WindowCpu(threads, exitedNames, unobserved, endedAt);
        }
    }

    /// <summary>Reads every thread (under _pollGate), enqueueing the readings while a session samples.</summary>
    private void ReadAll(bool enqueue, bool list = true)
    {
        if (list || ++_pollsSinceListing >= SamplingPollsPerListing)
        {
            OsThreads.ListThreads(_threads);
            _pollsSinceListing = 0;
        }
        var timestamp = Stopwatch.GetTimestamp();
        foreach (var thread in _threads)
        {
            var cpu = OsThreads.CpuNanos(thread);
            if (cpu < 0)
            {
                continue; // exited since the listing
            }
            if (enqueue)
            {
                _readings.Enqueue(new CpuReading(thread, timestamp, cpu));
            }
            _latest[thread] = cpu;
            if (!_names.ContainsKey(thread) && OsThreads.Name(thread) is { } name)
            {
                // Read while the thread lives: an exited thread's CPU is still named in its window.
                _names[thread] = name;
            }
        }
    }

    private void Run()
    {
        var token = _disposed.Token;
        WaitHandle[] wakers = [token.WaitHandle, _wake];
        while (true)
        {
            // A session starting wakes the loop to switch to the sampling rate (Start read the clocks already).
            var woken = WaitHandle.WaitAny(wakers, _sampling ? PollInterval : IdlePollInterval);
            if (woken == 0)
            {
                return;
            }
            // A round whose gate is held is skipped, not waited for: the holder (a window closing, a session
            // starting or stopping) is reading every clock at this moment, and a wait here would be the profiler's
            // own lock contention in the application's lock profile (tens of ms under load).
            if (woken == WaitHandle.WaitTimeout && Monitor.TryEnter(_pollGate))
            {
                try
                {
                    ReadAll(_sampling, list: !_sampling);
                }
                finally
                {
                    Monitor.Exit(_pollGate);
                }
            }
        }
    }

    public void Dispose()
    {
        _disposed.Cancel();
        _thread.Join(TimeSpan.FromSeconds(2));
        _disposed.Dispose();
        _wake.Dispose();
    }
}

/// <summary>OS thread <paramref name="Thread"/> had used <paramref name="CpuNanos"/> of CPU at <paramref name="Timestamp"/>.</summary>
internal readonly record struct CpuReading(int Thread, long Timestamp, long CpuNanos);

/// <summary>
/// One upload window's CPU as the OS counted it: per OS thread id (an exited thread's up to its last
/// reading), and the process CPU no thread's readings account for (threads that exited after their
/// last reading or lived between two: EventPipe's own session threads among them). Together they are
/// the process's CPU over the window, which ended at <paramref name="EndedAt"/>.
/// </summary>
internal sealed record WindowCpu(IReadOnlyDictionary<int, long> Threads, IReadOnlyDictionary<int, string> ExitedThreadNames, long Unobserved, DateTimeOffset EndedAt)
{
    /// <summary>The thread's OS name, "[thread &lt;name&gt;]"-ready (a live thread's current one, an exited one's last seen), or its id.</summary>
    public string NameOf(int thread) =>
        OsThreads.Name(thread) ?? ExitedThreadNames.GetValueOrDefault(thread) ?? thread.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
