using System.IO.Enumeration;
using System.Runtime.InteropServices;

namespace Pyroscope.Profiler.Collection;

/// <summary>
/// The operating system's own per-thread accounting, addressed by the OS thread id EventPipe puts on
/// every sample. Linux only: a thread's CPU clock (<c>clock_gettime</c> on the clock id
/// <c>pthread_getcpuclockid</c> would return for that tid, the same nanoseconds as the first field of
/// <c>/proc/self/task/&lt;tid&gt;/schedstat</c>); elsewhere <see cref="IsSupported"/> is false and cpu
/// falls back to the sample type (managed code = on cpu).
/// </summary>
internal static partial class OsThreads
{
    private const int ClockThreadCpuSched = 6; // CPUCLOCK_PERTHREAD_MASK | CPUCLOCK_SCHED
    private const int ClockProcessCpuTime = 2; // CLOCK_PROCESS_CPUTIME_ID: every thread's, the exited ones' too

    private static readonly EnumerationOptions TaskListing = new() { AttributesToSkip = 0, IgnoreInaccessible = true };

    [ThreadStatic]
    private static int t_currentId;

    public static bool IsSupported { get; } = OperatingSystem.IsLinux() && Probe();

    /// <summary>The calling thread's OS id (the id EventPipe reports), 0 where unknown.</summary>
    public static int CurrentThreadId
    {
        get
        {
            if (t_currentId == 0 && OperatingSystem.IsLinux())
            {
                try
                {
                    t_currentId = GetTid();
                }
                catch (EntryPointNotFoundException)
                {
                    t_currentId = -1;
                }
            }
            return t_currentId;
        }
    }

    /// <summary>CPU nanoseconds the OS has charged thread <paramref name="tid"/> of this process, or -1 (exited, unsupported).</summary>
    public static long CpuNanos(int tid)
    {
        var clock = (~tid << 3) | ClockThreadCpuSched;
        return ClockGetTime(clock, out var time) == 0 ? time.Seconds * 1_000_000_000 + time.Nanoseconds : -1;
    }

    /// <summary>CPU nanoseconds the OS has charged this process (every thread, live or exited), or -1.</summary>
    public static long ProcessCpuNanos() =>
        ClockGetTime(ClockProcessCpuTime, out var time) == 0 ? time.Seconds * 1_000_000_000 + time.Nanoseconds : -1;

    /// <summary>Fills <paramref name="ids"/> with the ids under /proc/self/task (this process's threads), without a string per entry.</summary>
    public static void ListThreads(List<int> ids)
    {
        ids.Clear();
        try
        {
            var entries = new FileSystemEnumerable<int>("/proc/self/task",
                static (ref entry) => int.TryParse(entry.FileName, out var id) ? id : 0, TaskListing)
            {
                ShouldIncludePredicate = static (ref entry) => entry.IsDirectory,
            };
            foreach (var id in entries)
            {
                if (id > 0)
                {
                    ids.Add(id);
                }
            }
        }
        catch (IOException)
        {
            // procfs unavailable: no readings, cpu falls back to sample types.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>The thread's name as the OS knows it (<c>/proc/self/task/&lt;tid&gt;/comm</c>, e.g. ".NET EventPipe"), or null.</summary>
    public static string? Name(int tid)
    {
        try
        {
            return File.ReadAllText($"/proc/self/task/{tid}/comm").TrimEnd('\n');
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool Probe()
    {
        try
        {
            return CurrentThreadId > 0 && CpuNanos(CurrentThreadId) >= 0;
        }
        catch (DllNotFoundException)
        {
            return false;
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetTid();
}
