using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.EventPipe;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;
using Pyroscope.Profiler.Pprof;
using Pyroscope.Profiler.Spans;

namespace Pyroscope.Profiler.Collection;

/// <summary>
/// The one place EventPipe events become profiles, shared by the live profiler (real-time TraceLog
/// over its own session) and the .nettrace converter (TraceLog over a file): SampleProfiler thread
/// samples (cpu, wall: <see cref="ThreadTimeAccounting"/>), GC AllocationTick (alloc_samples,
/// alloc_size), contention start/stop (lock_count, lock_time) and exceptions thrown (exception, with
/// the exception's type as the leaf frame), per interned call stack. Not thread-safe: everything runs
/// on the thread that dispatches the TraceLog's events.
/// </summary>
internal sealed class EventPipeSampleCollector
{
    private readonly TraceLog _traceLog;
    private readonly StackFrameResolver _resolver;
    private readonly ThreadTimeAccounting _threadTime;
    private readonly StackValueTable _cpu = new();
    private readonly List<(string Frame, long Cpu)> _unsampledCpu = [];
    private readonly StackValueTable _allocations = new();
    private readonly StackValueTable _contentions = new();
    private readonly StackValueTable _exceptions = new();
    private readonly Dictionary<int, int> _contentionStackByThread = new();
    private readonly Dictionary<string, int> _exceptionTypeLabels = new(StringComparer.Ordinal);
    private readonly List<string> _exceptionTypes = [""];
    private readonly long _nominalPeriodNanos;
    private SpanLabels? _spans;
    private double _firstSampleMSec = double.NaN;
    private double _lastSampleMSec = double.NaN;

    public EventPipeSampleCollector(TraceLog traceLog)
    {
        _traceLog = traceLog;
        _resolver = new StackFrameResolver(traceLog);
        var interval = traceLog.SampleProfileInterval;
        _nominalPeriodNanos = interval > TimeSpan.Zero ? (long)(interval.TotalMilliseconds * 1_000_000) : 1_000_000;
        _threadTime = new ThreadTimeAccounting(_nominalPeriodNanos);
    }

    /// <summary>Called after every thread sample was counted (the live profiler cuts its windows there).</summary>
    public Action<TraceEvent>? AfterThreadSample { get; set; }

    public long ThreadSampleCount => _threadTime.SampleCount;

    public long AllocationSampleCount { get; private set; }

    public ThreadTimeAccounting ThreadTime => _threadTime;

    /// <summary>An OS thread whose contention events are left out of the lock profile (the thread reading the session).</summary>
    public int IgnoredContentionThread { get; set; }

    /// <summary>Labels cpu and wall samples with the span their thread was working for.</summary>
    public void UseSpans(ActivitySpanTracker tracker) => _spans = new SpanLabels(tracker);

    /// <summary>
    /// The time the thread samples cover: first to last sample plus one period (zero without
    /// samples). A duty-cycled window scales its values by window length / this.
    /// </summary>
    public TimeSpan SampledSpan => double.IsNaN(_firstSampleMSec)
        ? TimeSpan.Zero
        : TimeSpan.FromMilliseconds(_lastSampleMSec - _firstSampleMSec) + TimeSpan.FromTicks(_nominalPeriodNanos / 100);

    public void Attach(TraceEventSource source)
    {
        var sampleProfiler = new SampleProfilerTraceEventParser(source);
        sampleProfiler.ThreadSample += OnThreadSample;
        source.Clr.GCAllocationTick += OnAllocationTick;
        source.Clr.ContentionStart += OnContentionStart;
        source.Clr.ContentionStop += OnContentionStop;
        source.Clr.ExceptionStart += OnExceptionThrown;
    }

    private void OnThreadSample(ClrThreadSampleTraceData data)
    {
        if (data.Type != ClrThreadSampleType.Error)
        {
            var stack = _traceLog.GetCallStackIndexForEvent(data);
            if (stack != CallStackIndex.Invalid)
            {
                var time = data.TimeStampRelativeMSec;
                if (double.IsNaN(_firstSampleMSec) || time < _firstSampleMSec)
                {
                    _firstSampleMSec = time;
                }
                if (double.IsNaN(_lastSampleMSec) || time > _lastSampleMSec)
                {
                    _lastSampleMSec = time;
                }
#pragma warning disable CS0618 // TimeStampQPC is Stopwatch's clock: the poller's and the span tracker's timestamps
                var timestamp = data.TimeStampQPC;
#pragma warning restore CS0618
                var label = _spans?.LabelAt(data.ThreadID, timestamp) ?? 0;
                _threadTime.OnSample(data.ThreadID, timestamp, time, (int)stack, label, data.Type == ClrThreadSampleType.Managed);
            }
        }
        AfterThreadSample?.Invoke(data);
    }

    private void OnAllocationTick(GCAllocationTickTraceData data)
    {
        var stack = _traceLog.GetCallStackIndexForEvent(data);
        if (stack == CallStackIndex.Invalid)
        {
            return;
        }
        var bytes = data.AllocationAmount64 > 0 ? data.AllocationAmount64 : data.AllocationAmount;
        // One tick stands for ~100 KB allocated; the triggering object's size estimates how many objects that was.
        var objects = data.ObjectSize > 0 ? Math.Max(1, bytes / data.ObjectSize) : 1;
        _allocations.Add((int)stack, bytes, objects);
        AllocationSampleCount++;
    }

    private void OnContentionStart(ContentionStartTraceData data)
    {
        if (data.ContentionFlags == ContentionFlags.Native || IsIgnored(data.ThreadID))
        {
            return; // the runtime's own locks, or the profiler's own wait: not the application's contention
        }
        var stack = _traceLog.GetCallStackIndexForEvent(data);
        if (stack != CallStackIndex.Invalid)
        {
            _contentionStackByThread[data.ThreadID] = (int)stack;
        }
    }

    private void OnContentionStop(ContentionStopTraceData data)
    {
        if (IsIgnored(data.ThreadID))
        {
            return;
        }
        // The wait is charged to the stack that started waiting (the stop's stack is the same thread's).
        if (!_contentionStackByThread.Remove(data.ThreadID, out var stack))
        {
            var own = _traceLog.GetCallStackIndexForEvent(data);
            if (own == CallStackIndex.Invalid)
            {
                return;
            }
            stack = (int)own;
        }
        var nanos = data.DurationNs > 0 ? (long)data.DurationNs : 0;
        _contentions.Add(stack, 1, nanos);
    }

    private bool IsIgnored(int thread) => thread != 0 && thread == IgnoredContentionThread;

    private void OnExceptionThrown(ExceptionTraceData data)
    {
        var stack = _traceLog.GetCallStackIndexForEvent(data);
        if (stack == CallStackIndex.Invalid)
        {
            return;
        }
        var type = string.IsNullOrEmpty(data.ExceptionType) ? "[exception]" : data.ExceptionType;
        if (!_exceptionTypeLabels.TryGetValue(type, out var label))
        {
            label = _exceptionTypes.Count;
            _exceptionTypes.Add(type);
            _exceptionTypeLabels.Add(type, label);
        }
        _exceptions.Add((int)stack, label, 1, 0);
    }

    /// <summary>
    /// Builds the profiles of everything counted since the last drain (types without samples are
    /// left out) and starts afresh. <paramref name="scale"/> (window / sampled span) multiplies every value
    /// but cpu, which <paramref name="windowCpu"/> scales per thread to the OS's accounting when there is one.
    /// <paramref name="sessionEnded"/> false leaves samples without a closing CPU reading for the next drain.
    /// </summary>
    public IReadOnlyList<(ProfileType Type, Profile Profile)> Drain(long startUnixNanos, long endUnixNanos, double scale = 1, ProfileTypeSelection? types = null, WindowCpu? windowCpu = null, bool sessionEnded = true)
    {
        types ??= ProfileTypeSelection.All;
        _threadTime.SettleAll(sessionEnded);
        _unsampledCpu.Clear();
        _threadTime.DrainCpu(_cpu, scale, windowCpu, _unsampledCpu);
        var duration = Math.Max(0, endUnixNanos - startUnixNanos);
        var result = new List<(ProfileType, Profile)>(7);
        if ((_cpu.Count > 0 || _unsampledCpu.Count > 0) && types.Cpu)
        {
            // Already scaled, per thread.
            var cpu = new PprofBuilder(DotNetProfileTypes.Cpu, _nominalPeriodNanos);
            AddRows(cpu, _cpu, 1, static (t, row) => t.FirstAt(row), spanLabels: true);
            foreach (var (name, nanos) in _unsampledCpu)
            {
                Span<ulong> frame = [cpu.Location(name)];
                cpu.AddSample(frame, nanos);
            }
            Add(result, DotNetProfileTypes.Cpu, cpu, startUnixNanos, duration);
        }
        if (_threadTime.Wall.Count > 0 && types.Wall)
        {
            var wall = new PprofBuilder(DotNetProfileTypes.Wall, _nominalPeriodNanos);
            AddRows(wall, _threadTime.Wall, scale, static (t, row) => t.SecondAt(row), spanLabels: true);
            Add(result, DotNetProfileTypes.Wall, wall, startUnixNanos, duration);
        }
        if (_allocations.Count > 0 && types.Allocations)
        {
            var samples = new PprofBuilder(DotNetProfileTypes.AllocSamples, 0);
            var size = new PprofBuilder(DotNetProfileTypes.AllocSize, 0);
            AddRows(samples, _allocations, scale, static (t, row) => t.SecondAt(row));
            AddRows(size, _allocations, scale, static (t, row) => t.FirstAt(row));
            Add(result, DotNetProfileTypes.AllocSamples, samples, startUnixNanos, duration);
            Add(result, DotNetProfileTypes.AllocSize, size, startUnixNanos, duration);
        }
        if (_contentions.Count > 0 && types.Lock)
        {
            var count = new PprofBuilder(DotNetProfileTypes.LockCount, 1);
            var wait = new PprofBuilder(DotNetProfileTypes.LockTime, 1);
            AddRows(count, _contentions, scale, static (t, row) => t.FirstAt(row));
            AddRows(wait, _contentions, scale, static (t, row) => t.SecondAt(row));
            Add(result, DotNetProfileTypes.LockCount, count, startUnixNanos, duration);
            Add(result, DotNetProfileTypes.LockTime, wait, startUnixNanos, duration);
        }
        if (_exceptions.Count > 0 && types.Exception)
        {
            var thrown = new PprofBuilder(DotNetProfileTypes.Exception, 1);
            for (var row = 0; row < _exceptions.Count; row++)
            {
                var leaf = thrown.Location(_exceptionTypes[_exceptions.LabelAt(row)]);
                thrown.AddSample(_resolver.Resolve(_exceptions.StackAt(row), thrown, leaf), Scaled(_exceptions.FirstAt(row), scale));
            }
            Add(result, DotNetProfileTypes.Exception, thrown, startUnixNanos, duration);
        }
        _cpu.Clear();
        _threadTime.Wall.Clear();
        _allocations.Clear();
        _contentions.Clear();
        _exceptions.Clear();
        _resolver.Reset();
        _spans?.ResetLabels();
        _firstSampleMSec = double.NaN;
        _lastSampleMSec = double.NaN;
        return result;
    }

    private void AddRows(PprofBuilder builder, StackValueTable table, double scale, Func<StackValueTable, int, long> value, bool spanLabels = false)
    {
        for (var row = 0; row < table.Count; row++)
        {
            var v = Scaled(value(table, row), scale);
            if (v <= 0)
            {
                continue;
            }
            var span = spanLabels ? _spans?.Format(table.LabelAt(row)) : null;
            builder.AddSample(_resolver.Resolve(table.StackAt(row), builder), v, span is null ? null : "span_id", span);
        }
    }

    private static void Add(List<(ProfileType, Profile)> result, ProfileType type, PprofBuilder builder, long start, long duration)
    {
        if (builder.SampleCount > 0)
        {
            result.Add((type, builder.Build(start, duration)));
        }
    }

    private static long Scaled(long value, double scale) => scale == 1 ? value : (long)Math.Round(value * scale);

    /// <summary>Forgets per-thread state once it tracks this many threads (ids of exited threads would pile up).</summary>
    public void ForgetThreadsBeyond(int maxThreads)
    {
        _threadTime.ForgetThreadsBeyond(maxThreads);
        if (_contentionStackByThread.Count > maxThreads)
        {
            _contentionStackByThread.Clear();
        }
        if (_exceptionTypes.Count > 10_000)
        {
            _exceptionTypes.RemoveRange(1, _exceptionTypes.Count - 1);
            _exceptionTypeLabels.Clear();
        }
    }
}

/// <summary>Which profile types a drain builds (the rest of what was collected is dropped).</summary>
internal sealed record ProfileTypeSelection(bool Cpu, bool Wall, bool Allocations, bool Lock, bool Exception)
{
    public static readonly ProfileTypeSelection All = new(true, true, true, true, true);

    public static ProfileTypeSelection Of(ProfilerOptions options) =>
        new(options.CpuEnabled, options.WallEnabled, options.CollectAllocations, options.LockEnabled, options.ExceptionEnabled);
}
