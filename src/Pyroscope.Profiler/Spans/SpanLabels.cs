using System.Collections.Concurrent;

namespace Pyroscope.Profiler.Spans;

/// <summary>
/// Answers "which span was thread T working for at time t" for the samples of one session, from the
/// tracker's switches (queued in real time, so ahead of the sample stream), and interns the spans as
/// small label numbers (0: none) for <see cref="Collection.StackValueTable"/>.
/// </summary>
internal sealed class SpanLabels
{
    private readonly ConcurrentQueue<SpanSwitch> _switches;
    private readonly Dictionary<int, ThreadSpans> _threads = new();
    private readonly Dictionary<ulong, int> _labelBySpan = new();
    private readonly List<ulong> _spans = [0];

    public SpanLabels(ActivitySpanTracker tracker)
    {
        _switches = tracker.Switches;
        foreach (var (thread, span) in tracker.CurrentByThread)
        {
            Thread(thread).Current = span;
        }
    }

    public int LabelAt(int thread, long timestamp)
    {
        while (_switches.TryDequeue(out var change))
        {
            Thread(change.Thread).Later.Enqueue(change);
        }
        if (!_threads.TryGetValue(thread, out var spans))
        {
            return 0;
        }
        while (spans.Later.Count > 0 && spans.Later.Peek().Timestamp <= timestamp)
        {
            spans.Current = spans.Later.Dequeue().Span;
        }
        return Intern(spans.Current);
    }

    public string? Format(int label) => label == 0 ? null : ActivitySpanTracker.Format(_spans[label]);

    /// <summary>Forgets the label numbers (after a drain); the per-thread spans stay.</summary>
    public void ResetLabels()
    {
        _labelBySpan.Clear();
        _spans.RemoveRange(1, _spans.Count - 1);
    }

    private int Intern(ulong span)
    {
        if (span == 0)
        {
            return 0;
        }
        if (!_labelBySpan.TryGetValue(span, out var label))
        {
            label = _spans.Count;
            _spans.Add(span);
            _labelBySpan.Add(span, label);
        }
        return label;
    }

    private ThreadSpans Thread(int thread)
    {
        if (!_threads.TryGetValue(thread, out var spans))
        {
            spans = new ThreadSpans();
            _threads.Add(thread, spans);
        }
        return spans;
    }

    private sealed class ThreadSpans
    {
        public ulong Current;
        public readonly Queue<SpanSwitch> Later = new();
    }
}
