using System.Globalization;

namespace Pyroscope.LoadTest.Analysis;

/// <summary>
/// A flame graph as collapsed stacks (<c>root;…;leaf value</c>, what <c>/pyroscope/render?format=collapsed</c>
/// answers), summarised: self and total per frame, and self time grouped into the write path's stages.
/// </summary>
public sealed class CollapsedStacks
{
    private readonly List<(string[] Frames, long Value)> _stacks = [];

    public long Total { get; private set; }

    public int StackCount => _stacks.Count;

    public static CollapsedStacks Parse(string text)
    {
        var result = new CollapsedStacks();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            var space = line.LastIndexOf(' ');
            if (space <= 0 || !long.TryParse(line.AsSpan(space + 1), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value <= 0)
            {
                continue;
            }
            result._stacks.Add((line[..space].Split(';'), value));
            result.Total += value;
        }
        return result;
    }

    /// <summary>One stack (root first) with its value.</summary>
    public void Add(string[] rootToLeaf, long value)
    {
        if (value > 0 && rootToLeaf.Length > 0)
        {
            _stacks.Add((rootToLeaf, value));
            Total += value;
        }
    }

    /// <summary>Frames by self value (the leaf of each stack), largest first.</summary>
    public IReadOnlyList<(string Frame, long Value)> TopSelf(int count)
    {
        var self = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (frames, value) in _stacks)
        {
            self[frames[^1]] = self.GetValueOrDefault(frames[^1]) + value;
        }
        return [.. self.OrderByDescending(p => p.Value).Take(count).Select(p => (p.Key, p.Value))];
    }

    /// <summary>Frames by total value (counted once per stack even when recursive), largest first.</summary>
    public IReadOnlyList<(string Frame, long Value)> TopTotal(int count, Func<string, bool>? include = null)
    {
        var total = new Dictionary<string, long>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (frames, value) in _stacks)
        {
            seen.Clear();
            foreach (var frame in frames)
            {
                if (seen.Add(frame) && (include is null || include(frame)))
                {
                    total[frame] = total.GetValueOrDefault(frame) + value;
                }
            }
        }
        return [.. total.OrderByDescending(p => p.Value).Take(count).Select(p => (p.Key, p.Value))];
    }

    /// <summary>
    /// Self value per stage. A stack belongs to the first <see cref="StageTier.Anywhere"/> rule any of its frames
    /// matches; else to the <see cref="StageTier.Work"/> rule matching the frame nearest the leaf; else likewise
    /// for <see cref="StageTier.Fallback"/> (generic frames — Kestrel, thread pool — that sit under every stack).
    /// </summary>
    public IReadOnlyList<(string Stage, long Value, IReadOnlyList<(string Frame, long Value)> TopFrames)> ByStage(IReadOnlyList<StageRule> rules)
    {
        var stages = new Dictionary<string, (long Value, Dictionary<string, long> Leaves)>(StringComparer.Ordinal);
        foreach (var (frames, value) in _stacks)
        {
            var stage = StageOf(frames, rules);
            if (!stages.TryGetValue(stage, out var entry))
            {
                entry = (0, new Dictionary<string, long>(StringComparer.Ordinal));
            }
            entry.Leaves[frames[^1]] = entry.Leaves.GetValueOrDefault(frames[^1]) + value;
            stages[stage] = (entry.Value + value, entry.Leaves);
        }
        return [.. stages
            .OrderByDescending(p => p.Value.Value)
            .Select(p => (p.Key, p.Value.Value, (IReadOnlyList<(string, long)>)[.. p.Value.Leaves.OrderByDescending(l => l.Value).Take(3).Select(l => (l.Key, l.Value))]))];
    }

    private static string StageOf(string[] frames, IReadOnlyList<StageRule> rules)
    {
        foreach (var rule in rules)
        {
            if (rule.Tier == StageTier.Leaf && rule.Matches(frames[^1]))
            {
                return rule.Stage;
            }
        }
        foreach (var rule in rules)
        {
            if (rule.Tier == StageTier.Anywhere && Array.Exists(frames, rule.Matches))
            {
                return rule.Stage;
            }
        }
        foreach (var tier in new[] { StageTier.Work, StageTier.Fallback })
        {
            for (var i = frames.Length - 1; i >= 0; i--)
            {
                foreach (var rule in rules)
                {
                    if (rule.Tier == tier && rule.Matches(frames[i]))
                    {
                        return rule.Stage;
                    }
                }
            }
        }
        return StageRule.Other;
    }
}

public enum StageTier
{
    /// <summary>Only the leaf frame is looked at (waiting, GC suspension: whatever the stack above it).</summary>
    Leaf,

    /// <summary>The stack belongs to the stage wherever the frame is (a whole subsystem, e.g. the profiler).</summary>
    Anywhere,

    /// <summary>The matching frame nearest the leaf decides.</summary>
    Work,

    /// <summary>Only when no work frame matched.</summary>
    Fallback,
}

/// <summary>A stage of the write path, recognised by a substring of a frame name.</summary>
public sealed record StageRule(string Stage, StageTier Tier, params string[] FrameContains)
{
    public const string Other = "other";

    /// <summary>Stages that are not work of the write path: left out of the "share of work" column.</summary>
    public static bool IsOverhead(string stage) => stage == Idle || stage == Profiler;

    public const string Idle = "idle: thread-pool spinning and waits";
    public const string Profiler = "self-profiler (EventPipe, TraceEvent)";
    public const string GcSuspension = "GC: threads stopped at GC polls";

    public bool Matches(string frame)
    {
        foreach (var part in FrameContains)
        {
            if (frame.Contains(part, StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// The write path's stages, checked in this order at each frame from the leaf up: libraries doing a stage's
    /// work (zlib, zstd) before the product method that called them, so gunzip inside the pprof decoder counts as
    /// gunzip and zstd inside the WAL record encoder as WAL compression.
    /// </summary>
    public static readonly IReadOnlyList<StageRule> WritePath =
    [
        new(Idle, StageTier.Leaf, "LowLevelSpinWaiter.Wait", "LowLevelLifoSemaphore.Wait", "WorkerThreadStart", "WaitHandle.Wait",
            "ManualResetEventSlim.Wait", "Thread.Sleep", "Monitor.Wait", "SemaphoreSlim.Wait", "Interop+Kernel32.ReleaseSemaphore", "Thread.SpinWait"),
        new(GcSuspension, StageTier.Leaf, "PollGC", "GC.Collect", "GC.Alloc"),
        new(Profiler, StageTier.Anywhere, "Pyroscope.Profiler.", "Microsoft.Diagnostics."),
        new("gunzip (zlib)", StageTier.Work, "System.IO.Compression.", "Interop+ZLib", "BoundedGzip"),
        new("WAL compress (zstd)", StageTier.Work, "ZstdSharp."),
        new("WAL record encode (protobuf re-serialise)", StageTier.Work, "IngesterEngine.EncodeRecord"),
        new("WAL write + fsync", StageTier.Work, "Pyroscope.Storage.Wal."),
        new("head append", StageTier.Work, "Pyroscope.Storage.Head.", "IngesterEngine.AppendToHead", "Pyroscope.Storage.Symbols."),
        new("series admission (labels, active series)", StageTier.Work, "IngesterEngine.LabelsOf", "IngesterEngine.AdmitSeries", "Pyroscope.Storage.Ingestion.ActiveSeries"),
        new("normalise", StageTier.Work, "Pyroscope.Formats.Normalization."),
        new("pprof decode (protobuf object model)", StageTier.Work, "Pyroscope.Formats.Pprof.", "Pyroscope.Formats.Ingest."),
        new("Connect envelope decode", StageTier.Work, "Pyroscope.Api.Connect."),
        new("gRPC distributor → ingester", StageTier.Work, "Pyroscope.Distributor.Remote.", "Pyroscope.Ingester.", "Grpc."),
        new("HTTP body read", StageTier.Work, "Pyroscope.Api.RequestBody"),
        new("distributor (limits, metrics, other)", StageTier.Work, "Pyroscope.Distributor."),
        new("Kestrel / sockets / pipelines", StageTier.Fallback, "Microsoft.AspNetCore.", "System.Net.", "System.IO.Pipelines."),
        new("thread pool / async machinery", StageTier.Fallback, "System.Threading.", "System.Runtime.CompilerServices."),
    ];
}
