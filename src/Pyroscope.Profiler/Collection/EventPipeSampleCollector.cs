using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.EventPipe;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;
using Pyroscope.Contracts.Google.V1;
using Pyroscope.Model;
using Pyroscope.Profiler.Pprof;

namespace Pyroscope.Profiler.Collection;

/// <summary>
/// The one place EventPipe stacks become profiles, shared by the live profiler (real-time TraceLog
/// over its own session) and the .nettrace converter (TraceLog over a file). It sums
/// SampleProfiler thread samples (cpu = samples of threads running managed code, wall = all)
/// and GC AllocationTick samples per interned call stack, and drains them into pprof profiles.
/// Not thread-safe: everything runs on the thread that dispatches the TraceLog's events.
/// </summary>
internal sealed class EventPipeSampleCollector
{
    // A thread that was not sampled for longer than this was not alive or not known to the
    // runtime in between: its next sample gets the nominal period instead of the gap.
    private const double MaxSampleGapMSec = 50;

    private readonly TraceLog _traceLog;
    private readonly StackFrameResolver _resolver;
    private readonly StackValueTable _threadTime = new();
    private readonly StackValueTable _allocations = new();
    private readonly Dictionary<int, double> _lastSampleMSecByThread = new();
    private readonly long _nominalPeriodNanos;
    private double _firstSampleMSec = double.NaN;
    private double _lastSampleMSec = double.NaN;

    public EventPipeSampleCollector(TraceLog traceLog)
    {
        _traceLog = traceLog;
        _resolver = new StackFrameResolver(traceLog);
        var interval = traceLog.SampleProfileInterval;
        _nominalPeriodNanos = interval > TimeSpan.Zero ? (long)(interval.TotalMilliseconds * 1_000_000) : 1_000_000;
    }

    /// <summary>Called after every thread sample was counted (the live profiler cuts its windows there).</summary>
    public Action<TraceEvent>? AfterThreadSample { get; set; }

    public long ThreadSampleCount { get; private set; }

    public long AllocationSampleCount { get; private set; }

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
    }

    private void OnThreadSample(ClrThreadSampleTraceData data)
    {
        if (data.Type != ClrThreadSampleType.Error)
        {
            var stack = _traceLog.GetCallStackIndexForEvent(data);
            if (stack != CallStackIndex.Invalid)
            {
                var weight = WeightOf(data.ThreadID, data.TimeStampRelativeMSec);
                var cpu = data.Type == ClrThreadSampleType.Managed ? weight : 0;
                _threadTime.Add((int)stack, cpu, weight);
                ThreadSampleCount++;
            }
        }
        AfterThreadSample?.Invoke(data);
    }

    private long WeightOf(int threadId, double timeMSec)
    {
        if (double.IsNaN(_firstSampleMSec) || timeMSec < _firstSampleMSec)
        {
            _firstSampleMSec = timeMSec;
        }
        if (double.IsNaN(_lastSampleMSec) || timeMSec > _lastSampleMSec)
        {
            _lastSampleMSec = timeMSec;
        }
        var weight = _nominalPeriodNanos;
        if (_lastSampleMSecByThread.TryGetValue(threadId, out var last))
        {
            var gap = timeMSec - last;
            if (gap > 0 && gap <= MaxSampleGapMSec)
            {
                weight = (long)(gap * 1_000_000);
            }
        }
        _lastSampleMSecByThread[threadId] = timeMSec;
        return weight;
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

    /// <summary>
    /// Builds the profiles of everything counted since the last drain (types without samples are
    /// left out) and starts afresh. <paramref name="scale"/> multiplies every value: a window that
    /// was sampled for only part of its length scales up so its totals stay time-correct.
    /// </summary>
    public IReadOnlyList<(ProfileTypeId Type, Profile Profile)> Drain(long startUnixNanos, long endUnixNanos, double scale = 1)
    {
        var duration = Math.Max(0, endUnixNanos - startUnixNanos);
        var result = new List<(ProfileTypeId, Profile)>(4);
        if (_threadTime.Count > 0)
        {
            var cpu = Builder(DotNetProfileTypes.Cpu, _nominalPeriodNanos);
            var wall = Builder(DotNetProfileTypes.Wall, _nominalPeriodNanos);
            for (var row = 0; row < _threadTime.Count; row++)
            {
                var cpuValue = _threadTime.FirstAt(row);
                if (cpuValue > 0)
                {
                    cpu.AddSample(_resolver.Resolve(_threadTime.StackAt(row), cpu), Scaled(cpuValue, scale));
                }
                wall.AddSample(_resolver.Resolve(_threadTime.StackAt(row), wall), Scaled(_threadTime.SecondAt(row), scale));
            }
            if (cpu.SampleCount > 0)
            {
                result.Add((DotNetProfileTypes.Cpu, cpu.Build(startUnixNanos, duration)));
            }
            result.Add((DotNetProfileTypes.Wall, wall.Build(startUnixNanos, duration)));
        }
        if (_allocations.Count > 0)
        {
            var space = Builder(DotNetProfileTypes.AllocSpace, 0);
            var objects = Builder(DotNetProfileTypes.AllocObjects, 0);
            for (var row = 0; row < _allocations.Count; row++)
            {
                space.AddSample(_resolver.Resolve(_allocations.StackAt(row), space), Scaled(_allocations.FirstAt(row), scale));
                objects.AddSample(_resolver.Resolve(_allocations.StackAt(row), objects), Scaled(_allocations.SecondAt(row), scale));
            }
            result.Add((DotNetProfileTypes.AllocSpace, space.Build(startUnixNanos, duration)));
            result.Add((DotNetProfileTypes.AllocObjects, objects.Build(startUnixNanos, duration)));
        }
        _threadTime.Clear();
        _allocations.Clear();
        _resolver.Reset();
        _firstSampleMSec = double.NaN;
        _lastSampleMSec = double.NaN;
        return result;
    }

    private static long Scaled(long value, double scale) => scale == 1 ? value : (long)Math.Round(value * scale);

    /// <summary>
    /// Forgets per-thread timing once it tracks this many threads: ids of exited threads would
    /// otherwise pile up in long-lived processes. Costs one nominal-weight sample per live thread.
    /// </summary>
    public void ForgetThreadsBeyond(int maxThreads)
    {
        if (_lastSampleMSecByThread.Count > maxThreads)
        {
            _lastSampleMSecByThread.Clear();
        }
    }

    private static PprofBuilder Builder(ProfileTypeId type, long period) =>
        new(type.SampleType, type.SampleUnit, type.PeriodType, type.PeriodUnit, period);
}
