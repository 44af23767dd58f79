using System.Collections.Concurrent;

namespace Pyroscope.Profiler.Collection;

/// <summary>
/// cpu and wall of thread samples. Wall: each sample weighs the time since its thread's previous
/// sample. CPU: what the OS charged the thread between two readings of its CPU clock is shared by the
/// thread's samples in between — first by those taken in managed code (the thread was running it, up
/// to each sample's wall weight), the rest by those taken outside (native code runs on the CPU too, a
/// blocking wait does not, and then there is no rest). A thread that waits gets no CPU however often
/// it is sampled, a thread the OS kept off the CPU under load gets only what it got, and the totals
/// are the OS's own numbers. Without readings (a .nettrace file, a platform without thread clocks)
/// samples in managed code count their wall weight as cpu, as EventPipe's sample types suggest.
/// Samples of the profiler's own threads are kept apart: their CPU is spent only while sampling, so a
/// duty-cycled window must not scale it up.
/// </summary>
internal sealed class ThreadTimeAccounting(long nominalPeriodNanos)
{
    // A thread not sampled for longer than this was not alive or not known to the runtime in between:
    // its next sample gets the nominal period instead of the gap.
    private const double MaxSampleGapMSec = 50;

    private readonly Dictionary<int, ThreadState> _threads = new();
    private readonly Dictionary<int, Queue<CpuReading>> _readingsByThread = new();
    private readonly HashSet<int> _ownThreads = [];
    private ConcurrentQueue<CpuReading>? _readings;

    /// <summary>cpu (column 0) and wall (column 1) per stack and span label.</summary>
    public StackValueTable Time { get; } = new();

    /// <summary>cpu of the profiler's own threads (column 0), never scaled.</summary>
    public StackValueTable OwnCpu { get; } = new();

    public long SampleCount { get; private set; }

    public bool HasCpuReadings => _readings is not null;

    /// <summary>Reads CPU clock readings from <paramref name="readings"/> (the poller's, in real time).</summary>
    public void UseCpuReadings(ConcurrentQueue<CpuReading> readings) => _readings = readings;

    public void AddOwnThread(int thread)
    {
        if (thread > 0)
        {
            _ownThreads.Add(thread);
        }
    }

    public void OnSample(int thread, long timestamp, double timeMSec, int stack, int label, bool managed)
    {
        SampleCount++;
        if (!_threads.TryGetValue(thread, out var state))
        {
            state = new ThreadState(_ownThreads.Contains(thread));
            _threads.Add(thread, state);
        }
        var wall = nominalPeriodNanos;
        if (!double.IsNaN(state.LastSampleMSec))
        {
            var gap = timeMSec - state.LastSampleMSec;
            if (gap > 0 && gap <= MaxSampleGapMSec)
            {
                wall = (long)(gap * 1_000_000);
            }
        }
        state.LastSampleMSec = timeMSec;
        Time.Add(stack, label, 0, wall);
        if (_readings is null)
        {
            AddCpu(state, stack, label, managed ? wall : 0);
            return;
        }
        TakeReadings();
        Settle(thread, state, timestamp);
        state.Pending.Add(new PendingSample(stack, label, managed, wall));
    }

    /// <summary>
    /// Charges every pending sample with the readings there are; what still has no closing reading is
    /// charged as without readings. Called when a session ended or before TraceLog's stacks are trimmed.
    /// </summary>
    public void SettleAll()
    {
        if (_readings is not null)
        {
            TakeReadings();
        }
        foreach (var (thread, state) in _threads)
        {
            Settle(thread, state, long.MaxValue);
            foreach (var pending in state.Pending)
            {
                AddCpu(state, pending.Stack, pending.Label, pending.Managed ? pending.Wall : 0);
            }
            state.Pending.Clear();
        }
    }

    /// <summary>Forgets exited threads (ids would pile up in long-lived processes); costs one nominal wall weight per live thread.</summary>
    public void ForgetThreadsBeyond(int maxThreads)
    {
        if (_threads.Count > maxThreads)
        {
            SettleAll();
            _threads.Clear();
            _readingsByThread.Clear();
        }
    }

    private void TakeReadings()
    {
        while (_readings!.TryDequeue(out var reading))
        {
            if (!_readingsByThread.TryGetValue(reading.Thread, out var queue))
            {
                queue = new Queue<CpuReading>();
                _readingsByThread.Add(reading.Thread, queue);
            }
            queue.Enqueue(reading);
            // Threads that are never sampled (the runtime's native ones) are never settled: keep their
            // queue short. Old readings are harmless once a thread is sampled (only the last one before
            // its first sample becomes its baseline).
            if (queue.Count > 256 && !_threads.ContainsKey(reading.Thread))
            {
                while (queue.Count > 128)
                {
                    queue.Dequeue();
                }
            }
        }
    }

    private void Settle(int thread, ThreadState state, long upTo)
    {
        if (!_readingsByThread.TryGetValue(thread, out var queue))
        {
            return;
        }
        while (queue.Count > 0 && queue.Peek().Timestamp <= upTo)
        {
            var reading = queue.Dequeue();
            if (state.BaselineCpu < 0)
            {
                // Samples before the first reading have no interval: they are charged as without readings.
                foreach (var pending in state.Pending)
                {
                    AddCpu(state, pending.Stack, pending.Label, pending.Managed ? pending.Wall : 0);
                }
                state.Pending.Clear();
            }
            else
            {
                Share(state, reading.CpuNanos - state.BaselineCpu);
            }
            state.BaselineCpu = reading.CpuNanos;
        }
    }

    private void Share(ThreadState state, long cpu)
    {
        var pending = state.Pending;
        if (pending.Count == 0 || cpu <= 0)
        {
            pending.Clear();
            return;
        }
        long managedWall = 0, otherWall = 0;
        foreach (var sample in pending)
        {
            if (sample.Managed)
            {
                managedWall += sample.Wall;
            }
            else
            {
                otherWall += sample.Wall;
            }
        }
        // Managed samples first, up to their wall weight; the rest goes to the others (or, when all
        // were managed, to them as well: the totals stay the OS's).
        var managedShare = managedWall == 0 ? 0 : cpu <= managedWall || otherWall == 0 ? (double)cpu / managedWall : 1;
        var rest = cpu - (long)(managedShare * managedWall);
        var otherShare = otherWall == 0 ? 0 : (double)rest / otherWall;
        foreach (var sample in pending)
        {
            var share = sample.Managed ? managedShare : otherShare;
            if (share > 0)
            {
                AddCpu(state, sample.Stack, sample.Label, (long)(share * sample.Wall));
            }
        }
        pending.Clear();
    }

    private void AddCpu(ThreadState state, int stack, int label, long cpu)
    {
        if (cpu <= 0)
        {
            return;
        }
        if (state.Own)
        {
            OwnCpu.Add(stack, label, cpu, 0);
        }
        else
        {
            Time.Add(stack, label, cpu, 0);
        }
    }

    public void Clear()
    {
        Time.Clear();
        OwnCpu.Clear();
    }

    private sealed class ThreadState(bool own)
    {
        public bool Own { get; } = own;
        public double LastSampleMSec = double.NaN;
        public long BaselineCpu = -1;
        public readonly List<PendingSample> Pending = [];
    }

    private readonly record struct PendingSample(int Stack, int Label, bool Managed, long Wall);
}
