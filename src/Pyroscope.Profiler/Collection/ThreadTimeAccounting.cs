using System.Collections.Concurrent;

namespace Pyroscope.Profiler.Collection;

/// <summary>
/// cpu and wall of thread samples. Wall: each sample weighs the time since its thread's previous
/// sample. CPU: what the OS charged the thread between two readings of its CPU clock is shared by the
/// thread's samples in between — first by those taken in managed code (the thread was running it, up
/// to each sample's wall weight), the rest by those taken outside (native code runs on the CPU too, a
/// blocking wait does not, and then there is no rest). A thread that waits gets no CPU however often
/// it is sampled, a thread the OS kept off the CPU under load gets only what it got. Without readings
/// (a .nettrace file, a platform without thread clocks) samples in managed code count their wall
/// weight as cpu, as EventPipe's sample types suggest.
/// <para>
/// With the window's OS accounting (<see cref="WindowCpu"/>) each thread's cpu is then scaled to what
/// the OS charged that thread over the whole window — up when the window was sampled for only part of
/// its length, down when samples had to be charged without readings — so a thread's stacks add up to
/// its real CPU whatever share of it the sampled span saw (under load that share is anything but the
/// span's share of the window). Threads without samples and CPU no thread's readings account for
/// (threads that exited unseen) are added under their own frames: the profile's total is the process's.
/// </para>
/// </summary>
internal sealed class ThreadTimeAccounting(long nominalPeriodNanos)
{
    // A thread not sampled for longer than this was not alive or not known to the runtime in between:
    // its next sample gets the nominal period instead of the gap. Every tick samples every managed
    // thread, so shorter gaps are the sampler itself being late (a loaded machine): real time that counts.
    private const double MaxSampleGapMSec = 500;

    /// <summary>The frame of CPU the process used in threads that exited after their last reading (or lived between two).</summary>
    public const string ExitedThreadsFrame = "[exited threads]";

    private readonly Dictionary<int, ThreadState> _threads = new();
    private readonly Dictionary<int, Queue<CpuReading>> _readingsByThread = new();
    private ConcurrentQueue<CpuReading>? _readings;

    /// <summary>wall (column 1) per stack and span label; column 0 unused.</summary>
    public StackValueTable Wall { get; } = new();

    public long SampleCount { get; private set; }

    /// <summary>Reads CPU clock readings from <paramref name="readings"/> (the poller's, in real time).</summary>
    public void UseCpuReadings(ConcurrentQueue<CpuReading> readings) => _readings = readings;

    public void OnSample(int thread, long timestamp, double timeMSec, int stack, int label, bool managed)
    {
        SampleCount++;
        if (!_threads.TryGetValue(thread, out var state))
        {
            state = new ThreadState();
            _threads.Add(thread, state);
        }
        var wall = nominalPeriodNanos;
        if (!double.IsNaN(state.LastSampleMSec))
        {
            // A sample at or before the thread's previous one (a duplicate, or out of order) adds no time.
            var gap = timeMSec - state.LastSampleMSec;
            wall = gap <= 0 ? 0 : gap <= MaxSampleGapMSec ? (long)(gap * 1_000_000) : nominalPeriodNanos;
        }
        state.LastSampleMSec = timeMSec;
        Wall.Add(stack, label, 0, wall);
        if (_readings is null)
        {
            state.Cpu.Add(stack, label, managed ? wall : 0, 0);
            return;
        }
        TakeReadings();
        Settle(thread, state, timestamp);
        state.Pending.Add(new PendingSample(stack, label, managed, wall));
    }

    /// <summary>
    /// Charges every pending sample with the readings there are. After the session ended (its last
    /// reading taken) what still has no closing reading is charged as without readings; before that
    /// (a continuous session cut into windows) it waits for its reading, which charges it to the next window.
    /// </summary>
    public void SettleAll(bool sessionEnded = true)
    {
        if (_readings is not null)
        {
            TakeReadings();
        }
        foreach (var (thread, state) in _threads)
        {
            Settle(thread, state, long.MaxValue);
            if (sessionEnded || state.BaselineCpu < 0)
            {
                ChargeWithoutReadings(state);
            }
        }
    }

    /// <summary>
    /// Adds every thread's cpu to <paramref name="target"/> (column 0), then forgets it (threads stay).
    /// With <paramref name="window"/> each thread's is scaled to its OS CPU over the window, and what the
    /// OS charged threads without samples (by thread) and no thread at all goes to <paramref name="unsampled"/>
    /// as (frame, cpu); without it every value is scaled by <paramref name="fallbackScale"/> (window / sampled span).
    /// </summary>
    public void DrainCpu(StackValueTable target, double fallbackScale, WindowCpu? window, List<(string Frame, long Cpu)> unsampled)
    {
        var unobserved = window?.Unobserved ?? 0;
        foreach (var (thread, state) in _threads)
        {
            var cpu = state.Cpu;
            if (cpu.Count == 0)
            {
                continue;
            }
            double sampled = 0;
            for (var row = 0; row < cpu.Count; row++)
            {
                sampled += cpu.FirstAt(row);
            }
            var scale = fallbackScale;
            if (window is not null)
            {
                if (window.Threads.TryGetValue(thread, out var os))
                {
                    scale = os / sampled;
                }
                else
                {
                    // No reading ever saw this thread: it lived between two polls, so its CPU is part of what
                    // no thread accounts for. It gets its samples' estimate of it, never more than there is.
                    var estimate = Math.Min(sampled * fallbackScale, unobserved);
                    unobserved -= (long)estimate;
                    scale = estimate / sampled;
                }
            }
            for (var row = 0; row < cpu.Count; row++)
            {
                var value = scale == 1 ? cpu.FirstAt(row) : (long)Math.Round(cpu.FirstAt(row) * scale);
                if (value > 0)
                {
                    target.Add(cpu.StackAt(row), cpu.LabelAt(row), value, 0);
                }
            }
            cpu.Clear();
            state.DrainedCpu = true;
        }
        if (window is null)
        {
            return;
        }
        // The OS also charged threads that have no cpu samples in this window: the runtime's native threads
        // (EventPipe's sampler among them, GC, tiered compilation) and managed threads that only ran
        // outside the sampled span. Their CPU is real; it goes into the profile by thread.
        foreach (var (thread, os) in window.Threads)
        {
            if (_threads.TryGetValue(thread, out var sampledState) && sampledState.DrainedCpu)
            {
                continue;
            }
            unsampled.Add(("[thread " + window.NameOf(thread) + "]", os));
        }
        if (unobserved > 0)
        {
            unsampled.Add((ExitedThreadsFrame, unobserved));
        }
        foreach (var state in _threads.Values)
        {
            state.DrainedCpu = false;
        }
    }

    /// <summary>Forgets exited threads (ids would pile up in long-lived processes); costs one nominal wall weight per live thread.</summary>
    public void ForgetThreadsBeyond(int maxThreads)
    {
        if (_threads.Count > maxThreads)
        {
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
                ChargeWithoutReadings(state);
            }
            else
            {
                Share(state, reading.CpuNanos - state.BaselineCpu);
            }
            state.BaselineCpu = reading.CpuNanos;
        }
    }

    private static void ChargeWithoutReadings(ThreadState state)
    {
        foreach (var pending in state.Pending)
        {
            if (pending.Managed && pending.Wall > 0)
            {
                state.Cpu.Add(pending.Stack, pending.Label, pending.Wall, 0);
            }
        }
        state.Pending.Clear();
    }

    private static void Share(ThreadState state, long cpu)
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
            var value = (long)((sample.Managed ? managedShare : otherShare) * sample.Wall);
            if (value > 0)
            {
                state.Cpu.Add(sample.Stack, sample.Label, value, 0);
            }
        }
        pending.Clear();
    }

    private sealed class ThreadState
    {
        public double LastSampleMSec = double.NaN;
        public long BaselineCpu = -1;
        public bool DrainedCpu;
        public readonly List<PendingSample> Pending = [];

        /// <summary>This thread's cpu (column 0) per stack and span label since the last drain.</summary>
        public readonly StackValueTable Cpu = new(16);
    }

    private readonly record struct PendingSample(int Stack, int Label, bool Managed, long Wall);
}
