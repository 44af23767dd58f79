using System.Buffers;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using Pyroscope.Model.Ingest;

namespace Pyroscope.Formats.Normalization;

/// <summary>
/// Finds each sample's run: its stack (location rows, leaf first, cut to the depth limit) with its sample-level labels,
/// the same run for identical ones, so series merge identical stacks by run and the head interns each stack once per
/// push. A hash table over the profile's own run columns: nothing is allocated per sample.
/// </summary>
internal sealed class StackRuns : IDisposable
{
    private readonly NormalizedProfile _target;
    private int[] _buckets;
    private int[] _next;
    private ulong[] _hashes;
    private int _mask;

    public StackRuns(NormalizedProfile target, int samples)
    {
        _target = target;
        var size = (int)Math.Min(1 << 30, System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, samples * 2)));
        _buckets = ArrayPool<int>.Shared.Rent(size);
        _buckets.AsSpan(0, size).Fill(-1);
        _mask = size - 1;
        _next = ArrayPool<int>.Shared.Rent(Math.Max(16, samples));
        _hashes = ArrayPool<ulong>.Shared.Rent(Math.Max(16, samples));
    }

    /// <summary>The run of this stack and these labels, added when new.</summary>
    public int Find(ReadOnlySpan<int> locations, ReadOnlySpan<PprofLabel> labels)
    {
        var hash = XxHash3.HashToUInt64(MemoryMarshal.AsBytes(locations));
        foreach (ref readonly var label in labels)
        {
            hash = (hash ^ (ulong)label.Key) * 0x9E3779B97F4A7C15UL;
            hash = (hash ^ (ulong)label.Str) * 0x9E3779B97F4A7C15UL;
        }
        var runs = _target.Runs.Span;
        for (var r = _buckets[(int)hash & _mask]; r >= 0; r = _next[r])
        {
            if (_hashes[r] == hash && SameRun(runs[r], locations, labels))
            {
                return r;
            }
        }
        return Add(hash, locations, labels);
    }

    private bool SameRun(in NormalizedRun run, ReadOnlySpan<int> locations, ReadOnlySpan<PprofLabel> labels)
    {
        if (run.LocationCount != locations.Length || run.LabelCount != labels.Length || !_target.LocationsOf(run).SequenceEqual(locations))
        {
            return false;
        }
        var existing = _target.LabelsOf(run);
        for (var i = 0; i < labels.Length; i++)
        {
            if (existing[i].Key != labels[i].Key || existing[i].Str != labels[i].Str)
            {
                return false;
            }
        }
        return true;
    }

    private int Add(ulong hash, ReadOnlySpan<int> locations, ReadOnlySpan<PprofLabel> labels)
    {
        var index = _target.Runs.Count;
        ref var run = ref _target.Runs.Add();
        run = new NormalizedRun
        {
            LocationStart = _target.RunLocations.Count,
            LocationCount = locations.Length,
            LabelStart = _target.RunLabels.Count,
            LabelCount = labels.Length,
        };
        _target.RunLocations.Reserve(locations.Length);
        foreach (var location in locations)
        {
            _target.RunLocations.Add(location);
        }
        foreach (ref readonly var label in labels)
        {
            _target.RunLabels.Add(label);
        }
        if (index >= _next.Length)
        {
            Grow(ref _next, index);
            Grow(ref _hashes, index);
        }
        _hashes[index] = hash;
        var bucket = (int)hash & _mask;
        _next[index] = _buckets[bucket];
        _buckets[bucket] = index;
        return index;
    }

    private static void Grow<T>(ref T[] array, int needed)
    {
        var bigger = ArrayPool<T>.Shared.Rent(Math.Max(needed + 1, array.Length * 2));
        array.AsSpan().CopyTo(bigger);
        ArrayPool<T>.Shared.Return(array);
        array = bigger;
    }

    public void Dispose()
    {
        ArrayPool<int>.Shared.Return(_buckets);
        ArrayPool<int>.Shared.Return(_next);
        ArrayPool<ulong>.Shared.Return(_hashes);
        _buckets = _next = [];
        _hashes = [];
    }
}
