using System.Globalization;
using System.Runtime.InteropServices;

namespace Pyroscope.Profiler.Workload;

/// <summary>
/// The process's OS CPU time (clock_gettime(CLOCK_PROCESS_CPUTIME_ID), every thread, native ones too)
/// every 5 ms with the Unix time, written as "unixNanos cpuNanos" lines on dispose: the truth a test
/// compares a window's CPU profile with.
/// </summary>
internal sealed partial class ProcessCpuLog : IDisposable
{
    private readonly string _path;
    private readonly List<(long UnixNanos, long CpuNanos)> _points = new(16_384);
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;

    public ProcessCpuLog(string path)
    {
        _path = path;
        _thread = new Thread(Record) { IsBackground = true, Name = "cpu-log" };
        _thread.Start();
    }

    private void Record()
    {
        while (!_stop.Token.WaitHandle.WaitOne(5))
        {
            ClockGetTime(2, out var cpu);
            var unix = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks * 100;
            lock (_points)
            {
                _points.Add((unix, cpu.Seconds * 1_000_000_000 + cpu.Nanoseconds));
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _thread.Join();
        lock (_points)
        {
            File.WriteAllLines(_path, _points.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.UnixNanos} {p.CpuNanos}")));
        }
    }

    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);
}
