using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Pyroscope.Profiler.Workload;

/// <summary>Alternates 30 ms of <see cref="global::Workload.HotMethod"/> with 10 ms of <see cref="global::Workload.LightMethod"/>: a 75 % / 25 % split.</summary>
internal static class HotAndLight
{
    public static Thread Start(CancellationToken stop)
    {
        var worker = new Thread(() => global::Workload.Run(stop)) { Name = "workload", IsBackground = true };
        worker.Start();
        return worker;
    }
}

/// <summary>
/// The CPU truth: one thread at a time burns CPU in <see cref="Burner"/>, handing over to a fresh one
/// every <see cref="BurnerLifetime"/> (threads come and go in real apps: a busy thread that exits inside
/// a window must keep its CPU); the others are on the CPU almost never: one blocked on an event nobody
/// sets, one sleeping in 1 s naps, one waking every second to spin briefly in SemaphoreSlim.Wait before
/// blocking again (and the relay that starts the burners, blocked in Join). A CPU profile must give the
/// burners (nearly) all, the spinning what it really used and the waiting (nearly) nothing. (EventPipe
/// samples a waiting thread every millisecond however rarely it wakes; each wake-up is real CPU —
/// SemaphoreSlim's spin up to 0.7 ms on a loaded machine — that does not shrink when other processes
/// starve the burner, so they wake rarely: at 20 ms the waiting threads' own CPU reached 2 % of a burner
/// that got 5 % of a core.)
/// </summary>
internal static class Truth
{
    public static readonly TimeSpan BurnerLifetime = TimeSpan.FromMilliseconds(1500);

    public static Thread[] Start(CancellationToken stop)
    {
        Thread[] threads =
        [
            new(() => BurnerRelay(stop)) { Name = "burner-relay", IsBackground = true },
            new(() => BlockedWaiter(stop)) { Name = "blocked", IsBackground = true },
            new(() => Sleeper(stop)) { Name = "sleeper", IsBackground = true },
            new(() => SpinThenBlock(stop)) { Name = "spinner", IsBackground = true },
        ];
        foreach (var thread in threads)
        {
            thread.Start();
        }
        return threads;
    }

    public static double Sink;

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void BurnerRelay(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var until = Stopwatch.GetTimestamp() + (long)(BurnerLifetime.TotalSeconds * Stopwatch.Frequency);
            var burner = new Thread(() => Burner(stop, until)) { Name = "burner", IsBackground = true };
            burner.Start();
            burner.Join();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Burner(CancellationToken stop, long untilTimestamp = long.MaxValue)
    {
        var x = 1.0;
        while (!stop.IsCancellationRequested && Stopwatch.GetTimestamp() < untilTimestamp)
        {
            for (var i = 0; i < 10_000; i++)
            {
                x = Math.Sqrt(x * 1.000001 + i);
            }
        }
        Sink = x;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void BlockedWaiter(CancellationToken stop)
    {
        using var never = new ManualResetEvent(false);
        WaitHandle.WaitAny([never, stop.WaitHandle]);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Sleeper(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            Thread.Sleep(1000);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void SpinThenBlock(CancellationToken stop)
    {
        using var never = new SemaphoreSlim(0);
        while (!stop.IsCancellationRequested)
        {
            // SemaphoreSlim spins before it blocks; the timeout makes it do so again every second.
            never.Wait(1000);
        }
    }
}

/// <summary>Load from outside: <c>threads</c> threads burning CPU in a separate process.</summary>
internal static class Hog
{
    public static Thread[] Start(int threads, CancellationToken stop)
    {
        var result = new Thread[threads];
        for (var t = 0; t < threads; t++)
        {
            result[t] = new Thread(() => Truth.Burner(stop)) { IsBackground = true };
            result[t].Start();
        }
        return result;
    }
}

/// <summary>
/// Known lock contention and exceptions: two threads fight over one lock in <see cref="Contend"/> (each
/// holds it 2 ms at a time), a third throws an <see cref="InvalidOperationException"/> from
/// <see cref="Throw"/> every 10 ms and catches it.
/// </summary>
internal static class KnownTypes
{
    private static readonly object Gate = new();

    public static long Thrown;

    /// <summary>Lock acquisitions that had to wait (longer than 100 µs) and their total wait, measured here.</summary>
    public static long Waits;

    public static long WaitNanos;

    public static Thread[] Start(CancellationToken stop)
    {
        Thread[] threads =
        [
            new(() => Contend(stop)) { Name = "contender-1", IsBackground = true },
            new(() => Contend(stop)) { Name = "contender-2", IsBackground = true },
            new(() => ThrowLoop(stop)) { Name = "thrower", IsBackground = true },
        ];
        foreach (var thread in threads)
        {
            thread.Start();
        }
        return threads;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Contend(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var asked = Stopwatch.GetTimestamp();
            lock (Gate)
            {
                var waited = Stopwatch.GetElapsedTime(asked);
                if (waited > TimeSpan.FromMicroseconds(100))
                {
                    Waits++;
                    WaitNanos += (long)(waited.TotalMilliseconds * 1_000_000);
                }
                var end = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 500;
                while (Stopwatch.GetTimestamp() < end)
                {
                }
            }
            Thread.Yield();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowLoop(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                Throw();
            }
            catch (InvalidOperationException)
            {
                Interlocked.Increment(ref Thrown);
            }
            Thread.Sleep(10);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void Throw() => throw new InvalidOperationException("known exception");
}
