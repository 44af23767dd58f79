using System.Buffers;
using System.Globalization;
using Pyroscope.Contracts.Google.V1;
using Pyroscope.Storage.Symbols;

namespace Pyroscope.Storage.Head;

/// <summary>
/// Translates one single-sample-type pprof profile into a tenant's tables: symbols are interned,
/// stacks become stack-tree leaf ids, and samples with the same stack are summed. Scratch buffers are
/// reused across calls, so the per-sample path allocates nothing. Not thread-safe: the caller holds the head's write lock.
/// </summary>
internal sealed class ProfileAppender
{
    private readonly IdMap _strings = new();
    private readonly IdMap _functions = new();
    private readonly IdMap _mappings = new();
    private readonly IdMap _locations = new();
    private int[] _stackScratch = new int[1024];
    private int[] _pathScratch = new int[256];
    private long[] _valueScratch = new long[1024];
    private ulong[] _spanScratch = new ulong[1024];
    private UInt128[] _traceScratch = new UInt128[1024];

    /// <summary>Appends the samples and returns (first sample row, sample rows, total value).</summary>
    public (int Start, int Count, long Total) Append(SymbolTable symbols, SampleColumns samples, Profile profile)
    {
        var stringTable = profile.StringTable;
        _strings.Reset(stringTable.Count, (ulong)stringTable.Count);
        var (maxMapping, positionalMappings) = ScanIds(profile.Mapping, static m => m.Id);
        var (maxFunction, positionalFunctions) = ScanIds(profile.Function, static f => f.Id);
        var (maxLocation, positionalLocations) = ScanIds(profile.Location, static l => l.Id);
        _mappings.Reset(profile.Mapping.Count, maxMapping);
        _functions.Reset(profile.Function.Count, maxFunction);
        _locations.Reset(profile.Location.Count, maxLocation);
        for (var i = 0; i < profile.Mapping.Count; i++)
        {
            var m = profile.Mapping[i];
            var id = symbols.InternMapping(m.MemoryStart, m.MemoryLimit, m.FileOffset, String(symbols, stringTable, m.Filename), String(symbols, stringTable, m.BuildId));
            _mappings.Set(positionalMappings ? (ulong)i + 1 : m.Id, id);
        }
        for (var i = 0; i < profile.Function.Count; i++)
        {
            var f = profile.Function[i];
            var id = symbols.InternFunction(String(symbols, stringTable, f.Name), String(symbols, stringTable, f.SystemName), String(symbols, stringTable, f.Filename), f.StartLine);
            _functions.Set(positionalFunctions ? (ulong)i + 1 : f.Id, id);
        }
        for (var i = 0; i < profile.Location.Count; i++)
        {
            var loc = profile.Location[i];
            var locId = positionalLocations ? (ulong)i + 1 : loc.Id;
            var lineStart = symbols.StageLineStart;
            var lines = loc.Line;
            for (var li = 0; li < lines.Count; li++)
            {
                var line = lines[li];
                var fn = _functions.Get(line.FunctionId);
                if (fn < 0)
                {
                    throw new InvalidDataException($"pprof location {locId} refers to unknown function id {line.FunctionId}.");
                }
                symbols.AddStagedLine(fn, line.Line_);
            }
            var mapping = loc.MappingId == 0 ? -1 : _mappings.Get(loc.MappingId);
            var id = symbols.InternLocation(mapping, loc.Address, lineStart);
            _locations.Set(locId, id);
        }

        var spanKey = FindString(stringTable, "span_id");
        var traceKey = FindString(stringTable, Pyroscope.Model.TraceContextIds.TraceIdLabel);
        var n = 0;
        var anySpan = false;
        EnsureScratch(profile.Sample.Count);
        var profileSamples = profile.Sample;
        for (var si = 0; si < profileSamples.Count; si++)
        {
            var sample = profileSamples[si];
            if (sample.Value.Count == 0 || sample.Value[0] == 0 || sample.LocationId.Count == 0)
            {
                continue;
            }
            var locationIds = sample.LocationId;
            var depth = locationIds.Count;
            if (_pathScratch.Length < depth)
            {
                _pathScratch = new int[Math.Max(depth, _pathScratch.Length * 2)];
            }
            for (var i = 0; i < depth; i++)
            {
                var loc = _locations.Get(locationIds[depth - 1 - i]);
                if (loc < 0)
                {
                    throw new InvalidDataException($"pprof sample refers to unknown location id {locationIds[depth - 1 - i]}.");
                }
                _pathScratch[i] = loc;
            }
            var node = symbols.InternStack(_pathScratch.AsSpan(0, depth));
            ulong span = 0;
            UInt128 trace = 0;
            if (spanKey > 0 || traceKey > 0)
            {
                var sampleLabels = sample.Label;
                for (var l = 0; l < sampleLabels.Count; l++)
                {
                    var label = sampleLabels[l];
                    if (label.Str <= 0 || label.Str >= stringTable.Count)
                    {
                        continue;
                    }
                    if (spanKey > 0 && label.Key == spanKey)
                    {
                        ulong.TryParse(stringTable[(int)label.Str], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out span);
                        anySpan |= span != 0;
                    }
                    else if (traceKey > 0 && label.Key == traceKey)
                    {
                        Pyroscope.Model.TraceContextIds.TryParseTraceId(stringTable[(int)label.Str], out trace);
                        anySpan |= trace != 0;
                    }
                }
            }
            _stackScratch[n] = node;
            _valueScratch[n] = sample.Value[0];
            _spanScratch[n] = span;
            _traceScratch[n] = trace;
            n++;
        }

        var start = samples.Count;
        long total = 0;
        if (anySpan)
        {
            // Span (and trace) profiles keep one row per sample so span and trace filtering stays exact.
            for (var i = 0; i < n; i++)
            {
                samples.Add(_stackScratch[i], _valueScratch[i], _spanScratch[i], _traceScratch[i]);
                total = Pyroscope.Model.Saturating.Add(total, _valueScratch[i]);
            }
        }
        else
        {
            Array.Sort(_stackScratch, _valueScratch, 0, n);
            var i = 0;
            while (i < n)
            {
                var stack = _stackScratch[i];
                long value = 0;
                while (i < n && _stackScratch[i] == stack)
                {
                    value = Pyroscope.Model.Saturating.Add(value, _valueScratch[i++]);
                }
                if (value != 0)
                {
                    samples.Add(stack, value, 0);
                    total = Pyroscope.Model.Saturating.Add(total, value);
                }
            }
        }
        return (start, samples.Count - start, total);
    }

    private void EnsureScratch(int count)
    {
        if (_stackScratch.Length < count)
        {
            var size = Math.Max(count, _stackScratch.Length * 2);
            _stackScratch = new int[size];
            _valueScratch = new long[size];
            _spanScratch = new ulong[size];
            _traceScratch = new UInt128[size];
        }
    }

    private int String(SymbolTable symbols, Google.Protobuf.Collections.RepeatedField<string> table, long index)
    {
        if (index <= 0 || index >= table.Count)
        {
            return 0;
        }
        var cached = _strings.Get((ulong)index);
        if (cached >= 0)
        {
            return cached;
        }
        var id = symbols.InternString(table[(int)index]);
        _strings.Set((ulong)index, id);
        return id;
    }

    private static long FindString(Google.Protobuf.Collections.RepeatedField<string> table, string value)
    {
        for (var i = 1; i < table.Count; i++)
        {
            if (table[i] == value)
            {
                return i;
            }
        }
        return 0;
    }

    /// <summary>
    /// The largest id (at least the count) and whether any id is 0: some clients (the .NET profiler) send id 0
    /// everywhere, and then ids are positional (index + 1).
    /// </summary>
    private static (ulong MaxId, bool HasZeroId) ScanIds<T>(Google.Protobuf.Collections.RepeatedField<T> items, Func<T, ulong> id)
    {
        var max = (ulong)items.Count;
        var hasZero = false;
        for (var i = 0; i < items.Count; i++)
        {
            var value = id(items[i]);
            max = Math.Max(max, value);
            hasZero |= value == 0;
        }
        return (max, hasZero);
    }

    /// <summary>pprof id → dense id; a flat array when ids are dense (the usual case), a dictionary otherwise.</summary>
    private sealed class IdMap
    {
        private int[] _dense = [];
        private int _denseLength;
        private Dictionary<ulong, int>? _sparse;

        public void Reset(int count, ulong maxId)
        {
            if (maxId <= (ulong)count * 4 + 1024)
            {
                _sparse = null;
                _denseLength = (int)maxId + 1;
                if (_dense.Length < _denseLength)
                {
                    if (_dense.Length > 0)
                    {
                        ArrayPool<int>.Shared.Return(_dense);
                    }
                    _dense = ArrayPool<int>.Shared.Rent(_denseLength);
                }
                _dense.AsSpan(0, _denseLength).Fill(-1);
            }
            else
            {
                _denseLength = 0;
                _sparse = new Dictionary<ulong, int>(count);
            }
        }

        public void Set(ulong id, int value)
        {
            if (_sparse is not null)
            {
                _sparse[id] = value;
            }
            else if (id < (ulong)_denseLength)
            {
                _dense[id] = value;
            }
        }

        public int Get(ulong id)
        {
            if (_sparse is not null)
            {
                return _sparse.TryGetValue(id, out var v) ? v : -1;
            }
            return id < (ulong)_denseLength ? _dense[id] : -1;
        }
    }
}
