using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using Pyroscope.Profiler.Collection;

namespace Pyroscope.Profiler.Spans;

/// <summary>
/// Knows which span each OS thread is working for, as upstream's OpenTelemetry integration labels
/// samples: the id of the local root span (the topmost <see cref="Activity"/> of this process, e.g.
/// ASP.NET Core's request activity) of whatever is current on the thread. An
/// <see cref="ActivityListener"/> that never asks for activities to be created (it samples nothing)
/// sees roots start and stop and puts their id into an <see cref="AsyncLocal{T}"/>, which flows
/// exactly as <see cref="Activity.Current"/> does; its change callback fires on every thread the
/// flow lands on (also when a thread-pool thread picks up or leaves a continuation), so "thread T
/// switched to span S at time t" is known without walking anything. Those switches are queued with
/// <see cref="Stopwatch"/> timestamps (EventPipe's clock) while a sampling session reads them.
/// </summary>
internal sealed class ActivitySpanTracker : IDisposable
{
    private readonly AsyncLocal<ulong> _rootSpan;
    private readonly ActivityListener _listener;
    private readonly ConcurrentDictionary<int, ulong> _currentByThread = new();
    private readonly ConcurrentQueue<SpanSwitch> _switches = new();
    private int _recording;

    public ActivitySpanTracker()
    {
        _rootSpan = new AsyncLocal<ulong>(OnSwitched);
        _listener = new ActivityListener
        {
            ShouldListenTo = static _ => true,
            // Never make an activity exist that nobody else wanted: span ids only matter for traced requests.
            Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.None,
            SampleUsingParentId = static (ref ActivityCreationOptions<string> _) => ActivitySamplingResult.None,
            ActivityStarted = OnStarted,
            ActivityStopped = OnStopped,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>Spans of threads known when recording starts (a request already running keeps its span).</summary>
    public IEnumerable<KeyValuePair<int, ulong>> CurrentByThread => _currentByThread;

    public ConcurrentQueue<SpanSwitch> Switches => _switches;

    /// <summary>Queue switches while a session samples; outside, only the per-thread current span is kept.</summary>
    public void SetRecording(bool recording)
    {
        Volatile.Write(ref _recording, recording ? 1 : 0);
        if (!recording)
        {
            _switches.Clear();
        }
    }

    /// <summary>The id Pyroscope and Tempo use for a span: its 8 bytes as 16 lower-case hex digits.</summary>
    public static string Format(ulong spanId) => spanId.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);

    public static ulong IdOf(ActivitySpanId spanId)
    {
        Span<byte> bytes = stackalloc byte[8];
        spanId.CopyTo(bytes);
        return BinaryPrimitives.ReadUInt64BigEndian(bytes);
    }

    private void OnStarted(Activity activity)
    {
        if (activity.Parent is null && (activity.IsAllDataRequested || activity.Recorded))
        {
            _rootSpan.Value = IdOf(activity.SpanId);
        }
    }

    private void OnStopped(Activity activity)
    {
        if (activity.Parent is null && _rootSpan.Value == IdOf(activity.SpanId))
        {
            _rootSpan.Value = 0;
        }
    }

    private void OnSwitched(AsyncLocalValueChangedArgs<ulong> change)
    {
        var thread = OsThreads.CurrentThreadId;
        if (thread <= 0)
        {
            return;
        }
        var span = change.CurrentValue;
        if (span == 0)
        {
            _currentByThread.TryRemove(thread, out _);
        }
        else
        {
            _currentByThread[thread] = span;
        }
        if (Volatile.Read(ref _recording) != 0)
        {
            _switches.Enqueue(new SpanSwitch(thread, Stopwatch.GetTimestamp(), span));
        }
    }

    public void Dispose()
    {
        _listener.Dispose();
        _switches.Clear();
        _currentByThread.Clear();
    }
}

/// <summary>Thread <paramref name="Thread"/> runs for span <paramref name="Span"/> (0: none) from <paramref name="Timestamp"/> on.</summary>
internal readonly record struct SpanSwitch(int Thread, long Timestamp, ulong Span);
