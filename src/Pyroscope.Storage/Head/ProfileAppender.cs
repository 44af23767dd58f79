using System.Globalization;
using System.Text;
using Pyroscope.Model.Ingest;
using Pyroscope.Storage.Symbols;

namespace Pyroscope.Storage.Head;

/// <summary>
/// Translates normalised series into a tenant's tables: symbols are interned, stacks become stack-tree leaf ids, and
/// samples with the same stack are summed. A push's series share their profile's symbols, so each string, function,
/// mapping, location and stack is interned once per push, by the first series whose stacks use it: in a large profile
/// table by table in row order, otherwise when a stack first reaches it (UTF-8 straight into the string table; only
/// new strings allocate). Scratch buffers are reused across calls, so the per-sample path allocates nothing.
/// Not thread-safe: the caller holds the head's write lock.
/// </summary>
internal sealed class ProfileAppender
{
    private const int Unknown = -2;

    /// <summary>A profile row this push uses and the head has not resolved yet (see <see cref="InternUsedSymbols"/>).</summary>
    private const int Pending = -3;

    /// <summary>
    /// Profiles with fewer locations intern their symbols as stacks reach them: their rows stay in cache, and the
    /// row-order passes cost a small push more than they save (go-cpu, ≈ 1 000 locations: ≈ 5 % of its head append).
    /// </summary>
    internal const int RowOrderMinLocations = 4096;

    private NormalizedProfile? _profile;
    private SymbolTable? _symbols;
    private int[] _strings = [];
    private int[] _functions = [];
    private int[] _mappings = [];
    private int[] _locations = [];
    private int[] _runNodes = [];
    private ulong[] _runSpans = [];
    private UInt128[] _runTraces = [];
    private char[] _chars = new char[256];
    private int[] _pathScratch = new int[256];
    private int[] _stackScratch = new int[1024];
    private long[] _valueScratch = new long[1024];
    private ulong[] _spanScratch = new ulong[1024];
    private UInt128[] _traceScratch = new UInt128[1024];

    /// <summary>Appends the samples of one series and returns (first sample row, sample rows, total value).</summary>
    public (int Start, int Count, long Total) Append(SymbolTable symbols, SampleColumns samples, NormalizedProfile profile, NormalizedSeries series)
    {
        Bind(symbols, profile);
        EnsureScratch(series.SampleCount);
        var runs = series.SampleRuns.Span;
        var values = series.SampleValues.Span;
        InternUsedSymbols(runs, values);
        var n = 0;
        var anySpan = false;
        for (var i = 0; i < runs.Length; i++)
        {
            var value = values[i];
            if (value == 0)
            {
                continue;
            }
            var run = runs[i];
            var node = NodeOf(run);
            if (node < 0)
            {
                continue; // a sample without locations
            }
            var span = _runSpans[run];
            var trace = _runTraces[run];
            anySpan |= span != 0 || trace != 0;
            _stackScratch[n] = node;
            _valueScratch[n] = value;
            _spanScratch[n] = span;
            _traceScratch[n] = trace;
            n++;
        }

        var start = samples.Count;
        long total = 0;
        if (anySpan)
        {
            // Span profiles keep one row per sample so span filtering stays exact.
            for (var i = 0; i < n; i++)
            {
                samples.Add(_stackScratch[i], _valueScratch[i], _spanScratch[i], _traceScratch[i]);
                total = Model.Saturating.Add(total, _valueScratch[i]);
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
                    value = Model.Saturating.Add(value, _valueScratch[i++]);
                }
                if (value != 0)
                {
                    samples.Add(stack, value, 0);
                    total = Model.Saturating.Add(total, value);
                }
            }
        }
        return (start, samples.Count - start, total);
    }

    /// <summary>Forgets the last push's profile (its memory goes back to the pool when the push completes).</summary>
    public void Release()
    {
        _profile = null;
        _symbols = null;
    }

    private void Bind(SymbolTable symbols, NormalizedProfile profile)
    {
        if (ReferenceEquals(profile, _profile) && ReferenceEquals(symbols, _symbols))
        {
            return;
        }
        _profile = profile;
        _symbols = symbols;
        var source = profile.Source;
        Reset(ref _strings, source.Strings.Count, Unknown);
        Reset(ref _functions, source.Functions.Count, Unknown);
        Reset(ref _mappings, source.Mappings.Count, Unknown);
        Reset(ref _locations, source.Locations.Count, Unknown);
        Reset(ref _runNodes, profile.Runs.Count, Unknown);
        if (_runSpans.Length < profile.Runs.Count)
        {
            _runSpans = new ulong[Math.Max(profile.Runs.Count, _runSpans.Length * 2)];
            _runTraces = new UInt128[_runSpans.Length];
        }
    }

    private static void Reset(ref int[] map, int count, int value)
    {
        if (map.Length < count)
        {
            map = new int[Math.Max(count, map.Length * 2)];
        }
        map.AsSpan(0, count).Fill(value);
    }

    /// <summary>
    /// Interns the symbols the series' new stacks use, each table in profile row order rather than stack order, in a
    /// profile of at least <see cref="RowOrderMinLocations"/> locations: its rows are no longer in cache when the head
    /// appends it, and resolving them in stack order made nearly every new location, function and string a handful of
    /// cache misses (the 4 MB eBPF profile: 100 000 locations and 30 000 functions per push). Marking touches only this
    /// appender's row maps; a row left marked by a failed push is resolved again on use (the maps' ids are never negative).
    /// </summary>
    private void InternUsedSymbols(ReadOnlySpan<int> runs, ReadOnlySpan<long> values)
    {
        var profile = _profile!;
        var source = profile.Source;
        var locationCount = source.Locations.Count;
        if (locationCount < RowOrderMinLocations)
        {
            return;
        }
        var locations = _locations;
        var pending = false;
        for (var i = 0; i < runs.Length; i++)
        {
            var run = runs[i];
            if (values[i] == 0 || _runNodes[run] != Unknown)
            {
                continue;
            }
            foreach (var row in profile.LocationsOf(profile.Runs[run]))
            {
                if (locations[row] == Unknown)
                {
                    locations[row] = Pending;
                    pending = true;
                }
            }
        }
        if (!pending)
        {
            return;
        }

        var lineFunction = profile.LineFunction.Span;
        var functions = _functions;
        for (var row = 0; row < locationCount; row++)
        {
            if (locations[row] != Pending)
            {
                continue;
            }
            ref readonly var location = ref source.Locations[row];
            foreach (var function in lineFunction.Slice(location.LineStart, location.LineCount))
            {
                if (functions[function] == Unknown)
                {
                    functions[function] = Pending;
                }
            }
        }
        var functionCount = source.Functions.Count;
        for (var row = 0; row < functionCount; row++)
        {
            if (functions[row] == Pending)
            {
                ref readonly var f = ref source.Functions[row];
                MarkString(f.Name);
                MarkString(f.SystemName);
                MarkString(f.Filename);
            }
        }
        var strings = _strings;
        var stringCount = source.Strings.Count;
        for (var row = 1; row < stringCount; row++)
        {
            if (strings[row] == Pending)
            {
                StringOf(row);
            }
        }
        for (var row = 0; row < functionCount; row++)
        {
            if (functions[row] == Pending)
            {
                FunctionOf(row);
            }
        }
        for (var row = 0; row < locationCount; row++)
        {
            if (locations[row] == Pending)
            {
                LocationOf(row);
            }
        }
    }

    private void MarkString(long index)
    {
        if (index > 0 && index < _profile!.Source.Strings.Count && _strings[index] == Unknown)
        {
            _strings[index] = Pending;
        }
    }

    /// <summary>The stack node of a run (interning its stack the first time), or -1 for an empty stack.</summary>
    private int NodeOf(int run)
    {
        var node = _runNodes[run];
        if (node != Unknown)
        {
            return node;
        }
        var profile = _profile!;
        var locations = profile.LocationsOf(profile.Runs[run]);
        if (locations.Length == 0)
        {
            _runNodes[run] = -1;
            _runSpans[run] = 0;
            _runTraces[run] = 0;
            return -1;
        }
        if (_pathScratch.Length < locations.Length)
        {
            _pathScratch = new int[Math.Max(locations.Length, _pathScratch.Length * 2)];
        }
        var depth = locations.Length;
        for (var i = 0; i < depth; i++)
        {
            // Runs list locations leaf first; the stack tree wants them root first.
            _pathScratch[i] = LocationOf(locations[depth - 1 - i]);
        }
        node = _symbols!.InternStack(_pathScratch.AsSpan(0, depth));
        _runNodes[run] = node;
        (_runSpans[run], _runTraces[run]) = ParseSpanAndTrace(run);
        return node;
    }

    /// <summary>The run's span and trace ids (sample labels span_id, trace_id; 0 where absent or not hex).</summary>
    private (ulong Span, UInt128 Trace) ParseSpanAndTrace(int run)
    {
        var profile = _profile!;
        var spanKey = profile.SpanIdKey;
        var traceKey = profile.TraceIdKey;
        if (spanKey <= 0 && traceKey <= 0)
        {
            return (0, 0);
        }
        var strings = profile.Source.Strings;
        ulong span = 0;
        UInt128 trace = 0;
        foreach (ref readonly var label in profile.LabelsOf(profile.Runs[run]))
        {
            if (label.Str <= 0 || label.Str >= strings.Count || (label.Key != spanKey && label.Key != traceKey))
            {
                continue;
            }
            // Labels read from the received bytes are parsed there: no string per run.
            var fromUtf8 = strings.TryGetUtf8((int)label.Str, out var utf8);
            if (label.Key == spanKey)
            {
                if (fromUtf8)
                {
                    ulong.TryParse(utf8, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out span);
                }
                else
                {
                    ulong.TryParse(strings[(int)label.Str], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out span);
                }
            }
            else if (fromUtf8)
            {
                Model.TraceContextIds.TryParseTraceId(utf8, out trace);
            }
            else
            {
                Model.TraceContextIds.TryParseTraceId(strings[(int)label.Str], out trace);
            }
        }
        return (span, trace);
    }

    private int LocationOf(int row)
    {
        var id = _locations[row];
        if (id >= 0)
        {
            return id;
        }
        var profile = _profile!;
        var symbols = _symbols!;
        ref readonly var location = ref profile.Source.Locations[row];
        var mappingRow = profile.LocationMapping[row];
        var mapping = mappingRow < 0 ? -1 : MappingOf(mappingRow);
        // Functions first: interning one must not land between the location's staged lines.
        var lines = profile.Source.LinesOf(location);
        var lineFunctions = profile.LineFunction.Span.Slice(location.LineStart, location.LineCount);
        for (var i = 0; i < lineFunctions.Length; i++)
        {
            FunctionOf(lineFunctions[i]);
        }
        var lineStart = symbols.StageLineStart;
        for (var i = 0; i < lines.Length; i++)
        {
            symbols.AddStagedLine(_functions[lineFunctions[i]], lines[i].Line);
        }
        id = symbols.InternLocation(mapping, location.Address, lineStart);
        _locations[row] = id;
        return id;
    }

    private int FunctionOf(int row)
    {
        var id = _functions[row];
        if (id >= 0)
        {
            return id;
        }
        ref readonly var f = ref _profile!.Source.Functions[row];
        id = _symbols!.InternFunction(StringOf(f.Name), StringOf(f.SystemName), StringOf(f.Filename), f.StartLine);
        _functions[row] = id;
        return id;
    }

    private int MappingOf(int row)
    {
        var id = _mappings[row];
        if (id >= 0)
        {
            return id;
        }
        ref readonly var m = ref _profile!.Source.Mappings[row];
        id = _symbols!.InternMapping(m.MemoryStart, m.MemoryLimit, m.FileOffset, StringOf(m.Filename), StringOf(m.BuildId));
        _mappings[row] = id;
        return id;
    }

    /// <summary>The head's id of a string of the profile; an index outside the table reads as "".</summary>
    private int StringOf(long index)
    {
        var strings = _profile!.Source.Strings;
        if (index <= 0 || index >= strings.Count)
        {
            return 0;
        }
        var id = _strings[index];
        if (id >= 0)
        {
            return id;
        }
        if (strings.TryGetUtf8((int)index, out var utf8))
        {
            var max = Encoding.UTF8.GetMaxCharCount(utf8.Length);
            if (_chars.Length < max)
            {
                _chars = new char[Math.Max(max, _chars.Length * 2)];
            }
            var length = Encoding.UTF8.GetChars(utf8, _chars);
            id = _symbols!.InternString(_chars.AsSpan(0, length));
        }
        else
        {
            id = _symbols!.InternString(strings[(int)index]);
        }
        _strings[index] = id;
        return id;
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
}
