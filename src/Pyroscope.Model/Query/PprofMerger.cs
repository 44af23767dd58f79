using System.IO.Hashing;
using System.Runtime.InteropServices;
using Pprof = Pyroscope.Contracts.Google.V1;

namespace Pyroscope.Model.Query;

/// <summary>
/// Merges symbolised samples from many sources into one pprof profile. Strings, mappings, functions and
/// locations are deduplicated by content, and samples with the same location stack are summed, so two
/// sources that share symbols (a head and the block it was flushed to) produce each symbol once.
/// Sources translate their own symbol ids into the merger's once per symbol; samples then arrive as spans
/// of merger location ids and cost no allocation unless the stack is new. Not thread-safe.
/// </summary>
public sealed class PprofMerger
{
    /// <summary>Name of the frame that stands for the callees cut off by a max_nodes truncation.</summary>
    public const string OtherName = "other";

    private readonly List<string> _strings = [string.Empty];
    private readonly Dictionary<string, int> _stringIds = new(StringComparer.Ordinal) { [string.Empty] = 0 };

    private readonly List<MappingRow> _mappings = [];
    private readonly Dictionary<MappingRow, int> _mappingIds = [];

    private readonly List<FunctionRow> _functions = [];
    private readonly Dictionary<FunctionRow, int> _functionIds = [];

    // Locations, columnar; location i's lines are [LineStart[i], +LineCount[i]) of the line columns.
    private readonly List<ulong> _locationMapping = [];
    private readonly List<ulong> _locationAddress = [];
    private readonly List<int> _locationLineStart = [];
    private readonly List<int> _locationLineCount = [];
    private readonly List<ulong> _lineFunction = [];
    private readonly List<long> _lineNumber = [];
    private readonly Dictionary<int, int> _locationIds;
    private int _stagedLineStart = -1;

    // Samples: stack i is _stackIds[_sampleStart[i] .. +_sampleLength[i]] (leaf first, as pprof orders them).
    // Location ids are this merger's (at most its location count), so 32 bits hold them at half the memory.
    private readonly List<uint> _stackIds = [];
    private readonly List<int> _sampleStart = [];
    private readonly List<int> _sampleLength = [];
    private readonly List<long> _sampleValue = [];
    private readonly Dictionary<int, int> _sampleIds;

    public PprofMerger()
    {
        _locationIds = new Dictionary<int, int>(new LocationComparer(this));
        _sampleIds = new Dictionary<int, int>(new StackComparer(this));
    }

    public int StringCount => _strings.Count;

    public int MappingCount => _mappings.Count;

    public int FunctionCount => _functions.Count;

    public int LocationCount => _locationMapping.Count;

    public int SampleCount => _sampleValue.Count;

    /// <summary>The string-table index of <paramref name="value"/>.</summary>
    public long String(string value)
    {
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_stringIds, value, out var exists);
        if (!exists)
        {
            slot = _strings.Count;
            _strings.Add(value);
        }
        return slot;
    }

    /// <summary>The id of a mapping; <paramref name="filename"/> and <paramref name="buildId"/> are string-table indexes of this merger.</summary>
    public ulong Mapping(ulong memoryStart, ulong memoryLimit, ulong fileOffset, long filename, long buildId)
    {
        var row = new MappingRow(memoryStart, memoryLimit, fileOffset, filename, buildId);
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_mappingIds, row, out var exists);
        if (!exists)
        {
            slot = _mappings.Count;
            _mappings.Add(row);
        }
        return (ulong)slot + 1;
    }

    /// <summary>The id of a function; the string arguments are string-table indexes of this merger.</summary>
    public ulong Function(long name, long systemName, long filename, long startLine)
    {
        var row = new FunctionRow(name, systemName, filename, startLine);
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_functionIds, row, out var exists);
        if (!exists)
        {
            slot = _functions.Count;
            _functions.Add(row);
        }
        return (ulong)slot + 1;
    }

    /// <summary>Starts a location: call <see cref="AddLine"/> for each line (callee first, like pprof), then <see cref="EndLocation"/>.</summary>
    public void BeginLocation() => _stagedLineStart = _lineFunction.Count;

    public void AddLine(ulong functionId, long line)
    {
        _lineFunction.Add(functionId);
        _lineNumber.Add(line);
    }

    /// <summary>Finishes the staged location and returns its id (an existing one when the content matches).</summary>
    public ulong EndLocation(ulong mappingId, ulong address)
    {
        if (_stagedLineStart < 0)
        {
            throw new InvalidOperationException("EndLocation without BeginLocation.");
        }
        var lineStart = _stagedLineStart;
        _stagedLineStart = -1;
        // Stage the candidate as a row; the comparer reads it like a committed one.
        var candidate = _locationMapping.Count;
        _locationMapping.Add(mappingId);
        _locationAddress.Add(address);
        _locationLineStart.Add(lineStart);
        _locationLineCount.Add(_lineFunction.Count - lineStart);
        if (_locationIds.TryGetValue(candidate, out var existing))
        {
            RemoveTail(_locationMapping, candidate);
            RemoveTail(_locationAddress, candidate);
            RemoveTail(_locationLineStart, candidate);
            RemoveTail(_locationLineCount, candidate);
            RemoveTail(_lineFunction, lineStart);
            RemoveTail(_lineNumber, lineStart);
            return (ulong)existing + 1;
        }
        _locationIds.Add(candidate, candidate);
        return (ulong)candidate + 1;
    }

    /// <summary>Adds <paramref name="value"/> to the sample with this stack (location ids, leaf first).</summary>
    public void AddSample(ReadOnlySpan<ulong> leafFirstLocationIds, long value)
    {
        if (value == 0 || leafFirstLocationIds.IsEmpty)
        {
            return;
        }
        var start = _stackIds.Count;
        var locationCount = (ulong)_locationMapping.Count;
        foreach (var id in leafFirstLocationIds)
        {
            if (id == 0 || id > locationCount)
            {
                RemoveTail(_stackIds, start);
                throw new ArgumentOutOfRangeException(nameof(leafFirstLocationIds), $"location id {id} is not one of this merger's ({locationCount} locations)");
            }
            _stackIds.Add((uint)id);
        }
        var candidate = _sampleValue.Count;
        _sampleStart.Add(start);
        _sampleLength.Add(leafFirstLocationIds.Length);
        _sampleValue.Add(value);
        if (_sampleIds.TryGetValue(candidate, out var existing))
        {
            RemoveTail(_stackIds, start);
            RemoveTail(_sampleStart, candidate);
            RemoveTail(_sampleLength, candidate);
            RemoveTail(_sampleValue, candidate);
            ref var merged = ref CollectionsMarshal.AsSpan(_sampleValue)[existing];
            merged = Saturating.Add(merged, value);
            return;
        }
        _sampleIds.Add(candidate, candidate);
    }

    /// <summary>Merges a whole profile (value index 0 of each sample), e.g. one a remote ingester merged.</summary>
    public void Add(Pprof.Profile profile)
    {
        var strings = profile.StringTable;
        var stringIds = new long[strings.Count];
        for (var i = 0; i < strings.Count; i++)
        {
            stringIds[i] = String(strings[i]);
        }
        long Str(long index) => index > 0 && index < stringIds.Length ? stringIds[index] : 0;

        var mappings = new Dictionary<ulong, ulong>(profile.Mapping.Count);
        foreach (var m in profile.Mapping)
        {
            mappings[m.Id] = Mapping(m.MemoryStart, m.MemoryLimit, m.FileOffset, Str(m.Filename), Str(m.BuildId));
        }
        var functions = new Dictionary<ulong, ulong>(profile.Function.Count);
        foreach (var f in profile.Function)
        {
            functions[f.Id] = Function(Str(f.Name), Str(f.SystemName), Str(f.Filename), f.StartLine);
        }
        var locations = new Dictionary<ulong, ulong>(profile.Location.Count);
        foreach (var loc in profile.Location)
        {
            BeginLocation();
            foreach (var line in loc.Line)
            {
                if (!functions.TryGetValue(line.FunctionId, out var function))
                {
                    _stagedLineStart = -1;
                    throw new InvalidDataException($"pprof location {loc.Id} refers to unknown function id {line.FunctionId}.");
                }
                AddLine(function, line.Line_);
            }
            var mapping = loc.MappingId == 0 ? 0 : mappings.GetValueOrDefault(loc.MappingId);
            locations[loc.Id] = EndLocation(mapping, loc.Address);
        }
        var stack = new ulong[64];
        foreach (var sample in profile.Sample)
        {
            if (sample.Value.Count == 0)
            {
                continue;
            }
            var ids = sample.LocationId;
            if (stack.Length < ids.Count)
            {
                stack = new ulong[ids.Count * 2];
            }
            for (var i = 0; i < ids.Count; i++)
            {
                if (!locations.TryGetValue(ids[i], out stack[i]))
                {
                    throw new InvalidDataException($"pprof sample refers to unknown location id {ids[i]}.");
                }
            }
            AddSample(stack.AsSpan(0, ids.Count), sample.Value[0]);
        }
    }

    /// <summary>
    /// The merged profile. With <paramref name="type"/> the sample and period types are set; with <paramref name="range"/>
    /// the time and duration. <paramref name="callSite"/> keeps only stacks whose frames, root first, start with those
    /// function names. <paramref name="maxNodes"/> &gt; 0 truncates the call tree to about that many nodes (see <see cref="Truncated"/>).
    /// </summary>
    public Pprof.Profile ToProfile(ProfileTypeId? type = null, TimeRange? range = null, long maxNodes = 0, IReadOnlyList<string>? callSite = null)
    {
        // Header strings first: they are interned before the table is copied.
        long sampleType = 0, sampleUnit = 0, periodType = 0, periodUnit = 0;
        if (type is not null)
        {
            sampleType = String(type.SampleType);
            sampleUnit = String(type.SampleUnit);
            periodType = String(type.PeriodType);
            periodUnit = String(type.PeriodUnit);
        }
        var keep = callSite is { Count: > 0 } ? CallSiteMatches(callSite) : null;
        var source = this;
        if (maxNodes > 0)
        {
            source = Truncated(maxNodes, keep);
            keep = null;
        }
        var profile = source.Build(keep);
        if (type is not null)
        {
            profile.SampleType.Add(new Pprof.ValueType { Type = sampleType, Unit = sampleUnit });
            profile.PeriodType = new Pprof.ValueType { Type = periodType, Unit = periodUnit };
        }
        if (range is { } r)
        {
            profile.TimeNanos = r.StartMs * 1_000_000;
            profile.DurationNanos = Math.Max(0, r.EndMs - r.StartMs) * 1_000_000;
        }
        return profile;
    }

    private Pprof.Profile Build(bool[]? keep)
    {
        var profile = new Pprof.Profile();
        profile.StringTable.AddRange(_strings);
        profile.Location.Capacity = _locationMapping.Count;
        profile.Function.Capacity = _functions.Count;
        profile.Sample.Capacity = keep is null ? _sampleValue.Count : 0;
        var mappingFlags = new MappingFlags[_mappings.Count];
        for (var i = 0; i < _locationMapping.Count; i++)
        {
            var location = new Pprof.Location { Id = (ulong)i + 1, MappingId = _locationMapping[i], Address = _locationAddress[i] };
            var start = _locationLineStart[i];
            var count = _locationLineCount[i];
            var flags = MappingFlags.None;
            for (var l = start; l < start + count; l++)
            {
                location.Line.Add(new Pprof.Line { FunctionId = _lineFunction[l], Line_ = _lineNumber[l] });
                flags |= MappingFlags.Functions;
                flags |= _lineNumber[l] > 0 ? MappingFlags.LineNumbers : 0;
                flags |= _functions[(int)_lineFunction[l] - 1].Filename > 0 ? MappingFlags.Filenames : 0;
            }
            flags |= count > 1 ? MappingFlags.InlineFrames : 0;
            if (location.MappingId > 0)
            {
                mappingFlags[location.MappingId - 1] |= flags;
            }
            profile.Location.Add(location);
        }
        for (var i = 0; i < _mappings.Count; i++)
        {
            var m = _mappings[i];
            var flags = mappingFlags[i];
            // Derived from the content: symbolised frames tell pprof not to look for the binary.
            profile.Mapping.Add(new Pprof.Mapping
            {
                Id = (ulong)i + 1,
                MemoryStart = m.Start,
                MemoryLimit = m.Limit,
                FileOffset = m.Offset,
                Filename = m.Filename,
                BuildId = m.BuildId,
                HasFunctions = (flags & MappingFlags.Functions) != 0,
                HasFilenames = (flags & MappingFlags.Filenames) != 0,
                HasLineNumbers = (flags & MappingFlags.LineNumbers) != 0,
                HasInlineFrames = (flags & MappingFlags.InlineFrames) != 0,
            });
        }
        for (var i = 0; i < _functions.Count; i++)
        {
            var f = _functions[i];
            profile.Function.Add(new Pprof.Function { Id = (ulong)i + 1, Name = f.Name, SystemName = f.SystemName, Filename = f.Filename, StartLine = f.StartLine });
        }
        var stacks = CollectionsMarshal.AsSpan(_stackIds);
        for (var i = 0; i < _sampleValue.Count; i++)
        {
            if (keep is not null && !keep[i])
            {
                continue;
            }
            var sample = new Pprof.Sample();
            sample.LocationId.Capacity = _sampleLength[i];
            foreach (var id in stacks.Slice(_sampleStart[i], _sampleLength[i]))
            {
                sample.LocationId.Add(id);
            }
            sample.Value.Capacity = 1;
            sample.Value.Add(_sampleValue[i]);
            profile.Sample.Add(sample);
        }
        return profile;
    }

    /// <summary>Per sample: do its frame names, root first (callers before inlined callees), start with <paramref name="callSite"/>?</summary>
    private bool[] CallSiteMatches(IReadOnlyList<string> callSite)
    {
        var prefix = new long[callSite.Count];
        for (var i = 0; i < prefix.Length; i++)
        {
            prefix[i] = _stringIds.TryGetValue(callSite[i], out var id) ? id : -1;
        }
        var keep = new bool[_sampleValue.Count];
        var stacks = CollectionsMarshal.AsSpan(_stackIds);
        for (var s = 0; s < keep.Length; s++)
        {
            var stack = stacks.Slice(_sampleStart[s], _sampleLength[s]);
            var matched = 0;
            for (var d = stack.Length - 1; d >= 0 && matched < prefix.Length; d--)
            {
                var loc = (int)stack[d] - 1;
                var start = _locationLineStart[loc];
                var count = _locationLineCount[loc];
                var mismatch = false;
                for (var l = start + count - 1; l >= start && matched < prefix.Length; l--)
                {
                    if (_functions[(int)_lineFunction[l] - 1].Name != prefix[matched])
                    {
                        mismatch = true;
                        break;
                    }
                    matched++;
                }
                if (mismatch)
                {
                    break;
                }
            }
            keep[s] = matched == prefix.Length;
        }
        return keep;
    }

    /// <summary>
    /// A copy truncated like upstream: the call tree is built over functions (a location's inlined lines are
    /// frames of their own); nodes lighter than the <paramref name="maxNodes"/>-th heaviest are cut. Each stack
    /// keeps its locations from the root down to the first one with a cut frame; the rest becomes one
    /// <see cref="OtherName"/> frame. Stacks that become equal are summed.
    /// </summary>
    private PprofMerger Truncated(long maxNodes, bool[]? keep)
    {
        var nodeIds = new Dictionary<(int Parent, ulong Function), int>();
        var totals = new List<long>();
        var stacks = CollectionsMarshal.AsSpan(_stackIds);
        for (var s = 0; s < _sampleValue.Count; s++)
        {
            if (keep is not null && !keep[s])
            {
                continue;
            }
            var node = -1;
            var stack = stacks.Slice(_sampleStart[s], _sampleLength[s]);
            for (var d = stack.Length - 1; d >= 0; d--)
            {
                var loc = (int)stack[d] - 1;
                var start = _locationLineStart[loc];
                for (var l = start + _locationLineCount[loc] - 1; l >= start; l--)
                {
                    ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(nodeIds, (node, _lineFunction[l]), out var exists);
                    if (!exists)
                    {
                        slot = totals.Count;
                        totals.Add(0);
                    }
                    node = slot;
                    ref var total = ref CollectionsMarshal.AsSpan(totals)[node];
                    total = Saturating.Add(total, _sampleValue[s]);
                }
            }
        }
        var minValue = totals.Count > maxNodes ? StackTree.KthLargest(totals.ToArray(), (int)maxNodes) : 0;

        // Copying the strings in order gives them the same indexes in the copy (the header strings stay valid).
        var result = new PprofMerger();
        var strings = new long[_strings.Count];
        for (var i = 0; i < strings.Length; i++)
        {
            strings[i] = result.String(_strings[i]);
        }
        var locations = new ulong[_locationMapping.Count];
        ulong other = 0;
        var scratch = new ulong[64];
        for (var s = 0; s < _sampleValue.Count; s++)
        {
            if (keep is not null && !keep[s])
            {
                continue;
            }
            var stack = stacks.Slice(_sampleStart[s], _sampleLength[s]);
            // Root first: how many whole locations survive.
            var kept = 0;
            var node = -1;
            for (var d = stack.Length - 1; d >= 0; d--)
            {
                var loc = (int)stack[d] - 1;
                var start = _locationLineStart[loc];
                var whole = true;
                for (var l = start + _locationLineCount[loc] - 1; l >= start && whole; l--)
                {
                    node = nodeIds[(node, _lineFunction[l])];
                    whole = totals[node] >= minValue;
                }
                if (!whole)
                {
                    break;
                }
                kept++;
            }
            var length = kept == stack.Length ? kept : kept + 1;
            if (scratch.Length < length)
            {
                scratch = new ulong[length * 2];
            }
            var o = 0;
            if (kept < stack.Length)
            {
                if (other == 0)
                {
                    var name = result.String(OtherName);
                    result.BeginLocation();
                    result.AddLine(result.Function(name, name, 0, 0), 0);
                    other = result.EndLocation(0, 0);
                }
                scratch[o++] = other;
            }
            for (var d = stack.Length - kept; d < stack.Length; d++)
            {
                scratch[o++] = CopyLocation((int)stack[d] - 1, result, strings, locations);
            }
            result.AddSample(scratch.AsSpan(0, o), _sampleValue[s]);
        }
        return result;
    }

    private ulong CopyLocation(int location, PprofMerger target, long[] strings, ulong[] copied)
    {
        if (copied[location] != 0)
        {
            return copied[location];
        }
        ulong mapping = 0;
        if (_locationMapping[location] > 0)
        {
            var m = _mappings[(int)_locationMapping[location] - 1];
            mapping = target.Mapping(m.Start, m.Limit, m.Offset, strings[m.Filename], strings[m.BuildId]);
        }
        target.BeginLocation();
        var start = _locationLineStart[location];
        for (var l = start; l < start + _locationLineCount[location]; l++)
        {
            var f = _functions[(int)_lineFunction[l] - 1];
            target.AddLine(target.Function(strings[f.Name], strings[f.SystemName], strings[f.Filename], f.StartLine), _lineNumber[l]);
        }
        return copied[location] = target.EndLocation(mapping, _locationAddress[location]);
    }

    private static void RemoveTail<T>(List<T> list, int count) => CollectionsMarshal.SetCount(list, count);

    private readonly record struct MappingRow(ulong Start, ulong Limit, ulong Offset, long Filename, long BuildId);

    private readonly record struct FunctionRow(long Name, long SystemName, long Filename, long StartLine);

    [Flags]
    private enum MappingFlags
    {
        None = 0,
        Functions = 1,
        Filenames = 2,
        LineNumbers = 4,
        InlineFrames = 8,
    }

    private sealed class LocationComparer(PprofMerger m) : IEqualityComparer<int>
    {
        public bool Equals(int a, int b)
        {
            if (m._locationMapping[a] != m._locationMapping[b] || m._locationAddress[a] != m._locationAddress[b]
                || m._locationLineCount[a] != m._locationLineCount[b])
            {
                return false;
            }
            var count = m._locationLineCount[a];
            var sa = m._locationLineStart[a];
            var sb = m._locationLineStart[b];
            for (var i = 0; i < count; i++)
            {
                if (m._lineFunction[sa + i] != m._lineFunction[sb + i] || m._lineNumber[sa + i] != m._lineNumber[sb + i])
                {
                    return false;
                }
            }
            return true;
        }

        public int GetHashCode(int i)
        {
            var hash = new HashCode();
            hash.Add(m._locationMapping[i]);
            hash.Add(m._locationAddress[i]);
            var start = m._locationLineStart[i];
            var count = m._locationLineCount[i];
            for (var j = 0; j < count; j++)
            {
                hash.Add(m._lineFunction[start + j]);
                hash.Add(m._lineNumber[start + j]);
            }
            return hash.ToHashCode();
        }
    }

    private sealed class StackComparer(PprofMerger m) : IEqualityComparer<int>
    {
        public bool Equals(int a, int b) => Stack(a).SequenceEqual(Stack(b));

        public int GetHashCode(int i) => (int)XxHash3.HashToUInt64(MemoryMarshal.AsBytes(Stack(i)));

        private ReadOnlySpan<uint> Stack(int i) => CollectionsMarshal.AsSpan(m._stackIds).Slice(m._sampleStart[i], m._sampleLength[i]);
    }
}
