using Pyroscope.Model.Ingest;
using Pyroscope.Contracts.Google.V1;
using Pyroscope.Model;
using ModelLabel = Pyroscope.Model.Label;
using PprofLabel = Pyroscope.Contracts.Google.V1.Label;
using PprofValueType = Pyroscope.Contracts.Google.V1.ValueType;

namespace Pyroscope.Formats.Jfr;

/// <summary>
/// Turns parsed events into columnar samples per (profile kind, context label set), sharing one symbol table
/// (functions, locations, resolved stacks) across all of them; pprof messages are only built at the end.
/// </summary>
internal sealed class JfrProfileAccumulator : IJfrEventSink, IDisposable
{
    private sealed record OutputKind(string Metric, string PeriodType, string PeriodUnit, (string Type, string Unit)[] Values);

    // Indexes mirror upstream's sample type constants.
    private const int Cpu = 0, Wall = 1, InNewTlab = 2, OutsideTlab = 3, Lock = 4, Park = 5, Live = 6, AllocSample = 7, Malloc = 8;

    private static readonly OutputKind[] Kinds =
    [
        new("process_cpu", "cpu", "nanoseconds", [("cpu", "nanoseconds")]),
        new("wall", "wall", "nanoseconds", [("wall", "nanoseconds")]),
        new("memory", "space", "bytes", [("alloc_in_new_tlab_objects", "count"), ("alloc_in_new_tlab_bytes", "bytes")]),
        new("memory", "space", "bytes", [("alloc_outside_tlab_objects", "count"), ("alloc_outside_tlab_bytes", "bytes")]),
        new("mutex", "mutex", "count", [("contentions", "count"), ("delay", "nanoseconds")]),
        new("block", "block", "count", [("contentions", "count"), ("delay", "nanoseconds")]),
        new("memory", "objects", "count", [("live", "count")]),
        new("memory", "space", "bytes", [("alloc_sample_objects", "count"), ("alloc_sample_bytes", "bytes")]),
        new("memory", "", "", [("malloc_objects", "count"), ("malloc_bytes", "bytes")]),
    ];

    private readonly JfrLabelsSnapshot _labels;
    private readonly JfrConvertOptions _options;
    private readonly long _period;
    private JfrConstantPools? _pools;
    private long _ticksPerSecond;
    private string _event = string.Empty;

    // Symbols shared by all outputs, across chunks.
    private readonly List<string> _functionNames = [];
    private readonly Dictionary<string, int> _functionByName = new(StringComparer.Ordinal);
    private readonly Dictionary<long, int> _locationByKey = [];
    private readonly PooledBuffer<int> _locationFunction = new();
    private readonly PooledBuffer<int> _locationLine = new();
    private readonly PooledBuffer<int> _stackStart = new();
    private readonly PooledBuffer<int> _stackLength = new();
    private readonly PooledBuffer<int> _stackLocations = new(8192);

    // Per chunk: constant pool ids are only meaningful inside their chunk.
    private readonly Dictionary<long, int> _functionByMethod = [];
    private readonly Dictionary<long, int> _stackByRef = [];
    private readonly Dictionary<long, int> _locationByFrame = [];
    private readonly Dictionary<(long Method, int Line), int> _locationByWideFrame = [];

    private readonly List<LabelSet> _labelSets = [LabelSet.Empty];
    private readonly Dictionary<LabelSet, int> _labelSetIndex = new() { [LabelSet.Empty] = 0 };
    private readonly Dictionary<long, int> _labelSetByContext = [];

    private readonly Dictionary<(int Kind, int LabelSet), SampleColumns> _outputs = [];
    private readonly List<SampleColumns> _outputOrder = [];

    public JfrProfileAccumulator(JfrLabelsSnapshot labels, JfrConvertOptions options)
    {
        _labels = labels;
        _options = options;
        _period = options.SampleRate > 0 ? 1_000_000_000 / options.SampleRate : 0;
    }

    public void OnChunk(in JfrChunkHeader header, JfrConstantPools pools)
    {
        _pools = pools;
        _ticksPerSecond = header.TicksPerSecond;
        _functionByMethod.Clear();
        _stackByRef.Clear();
        _locationByFrame.Clear();
        _locationByWideFrame.Clear();
    }

    public void OnActiveSetting(string? name, string? value)
    {
        if (name == "event")
        {
            _event = value ?? string.Empty;
        }
    }

    public void OnEvent(in JfrEvent e)
    {
        switch (e.Kind)
        {
            case JfrEventKind.ExecutionSample:
                // Upstream counts a sample as CPU unless the thread was sleeping, and as wall in wall mode.
                if (_pools!.ThreadStates.TryGetValue(e.State, out var state) && state != "STATE_SLEEPING")
                {
                    Add(Cpu, e.ContextId, e.SpanId, e.SpanName, e.StackTrace, _period, 0);
                }
                if (_event == "wall")
                {
                    Add(Wall, e.ContextId, e.SpanId, e.SpanName, e.StackTrace, _period, 0);
                }
                break;
            case JfrEventKind.WallClockSample:
                Add(Wall, 0, 0, 0, e.StackTrace, e.Value * _period, 0);
                break;
            case JfrEventKind.AllocationInNewTlab:
                Add(InNewTlab, e.ContextId, e.SpanId, e.SpanName, e.StackTrace, 1, e.Value);
                break;
            case JfrEventKind.AllocationOutsideTlab:
                Add(OutsideTlab, e.ContextId, e.SpanId, e.SpanName, e.StackTrace, 1, e.Value);
                break;
            case JfrEventKind.AllocationSample:
                Add(AllocSample, 0, 0, 0, e.StackTrace, 1, e.Value);
                break;
            case JfrEventKind.MonitorEnter:
                Add(Lock, e.ContextId, e.SpanId, e.SpanName, e.StackTrace, 1, TicksToNanos(e.Value));
                break;
            case JfrEventKind.ThreadPark:
                Add(Park, 0, 0, 0, e.StackTrace, 1, TicksToNanos(e.Value));
                break;
            case JfrEventKind.LiveObject:
                Add(Live, 0, 0, 0, e.StackTrace, 1, 0);
                break;
            case JfrEventKind.Malloc:
                Add(Malloc, 0, 0, 0, e.StackTrace, 1, e.Value);
                break;
        }
    }

    /// <summary>Durations are in ticks; the unit of the delay sample type is nanoseconds.</summary>
    private long TicksToNanos(long ticks)
    {
        if (_ticksPerSecond <= 0 || _ticksPerSecond == 1_000_000_000)
        {
            return ticks;
        }
        return (long)((Int128)ticks * 1_000_000_000 / _ticksPerSecond);
    }

    private void Add(int kind, long contextId, long spanId, long spanName, long stackRef, long value0, long value1)
    {
        var stack = ResolveStack(stackRef);
        if (stack < 0)
        {
            return;
        }
        var labelSet = contextId == 0 ? 0 : LabelSetFor(contextId);
        if (!_outputs.TryGetValue((kind, labelSet), out var output))
        {
            output = new SampleColumns(kind, labelSet);
            _outputs[(kind, labelSet)] = output;
            _outputOrder.Add(output);
        }
        output.Add(stack, spanId, spanName, value0, value1);
    }

    private int LabelSetFor(long contextId)
    {
        if (_labelSetByContext.TryGetValue(contextId, out var index))
        {
            return index;
        }
        index = 0;
        if (_labels.Contexts.TryGetValue(contextId, out var pairs) && pairs.Count > 0)
        {
            var list = new List<ModelLabel>(pairs.Count);
            foreach (var (nameId, valueId) in pairs)
            {
                var name = _labels.Strings.GetValueOrDefault(nameId);
                var value = _labels.Strings.GetValueOrDefault(valueId);
                if (!string.IsNullOrEmpty(name) && !string.IsNullOrEmpty(value))
                {
                    list.Add(new ModelLabel(name, value));
                }
            }
            if (list.Count > 0)
            {
                var set = LabelSet.From(list);
                if (!_labelSetIndex.TryGetValue(set, out index))
                {
                    index = _labelSets.Count;
                    _labelSets.Add(set);
                    _labelSetIndex[set] = index;
                }
            }
        }
        _labelSetByContext[contextId] = index;
        return index;
    }

    /// <summary>Maps a chunk's stack trace id to a shared stack of location indexes; -1 when the id is unknown.</summary>
    private int ResolveStack(long stackRef)
    {
        if (_stackByRef.TryGetValue(stackRef, out var stack))
        {
            return stack;
        }
        if (!_pools!.TryGetStack(stackRef, out var methods, out var lines))
        {
            _stackByRef[stackRef] = -1;
            return -1;
        }
        stack = _stackStart.Count;
        var start = _stackLocations.Count;
        for (var i = 0; i < methods.Length; i++)
        {
            var location = LocationFor(methods[i], lines[i]);
            if (location >= 0)
            {
                _stackLocations.Add(location);
            }
        }
        _stackStart.Add(start);
        _stackLength.Add(_stackLocations.Count - start);
        _stackByRef[stackRef] = stack;
        return stack;
    }

    /// <summary>The shared location of a frame; -1 when upstream would drop it (method or class missing).</summary>
    private int LocationFor(long methodRef, int line)
    {
        // Method ids are small in practice: pack (method, line) into one long, else fall back to a tuple key.
        var packable = (ulong)methodRef < (1UL << 40) && (uint)line < (1U << 23);
        var packed = (methodRef << 23) | (uint)line;
        int location;
        if (packable ? _locationByFrame.TryGetValue(packed, out location) : _locationByWideFrame.TryGetValue((methodRef, line), out location))
        {
            return location;
        }
        location = -1;
        var function = FunctionFor(methodRef);
        if (function >= 0)
        {
            var key = ((long)function << 32) | (uint)line;
            if (!_locationByKey.TryGetValue(key, out location))
            {
                location = _locationFunction.Count;
                _locationFunction.Add(function);
                _locationLine.Add(line);
                _locationByKey[key] = location;
            }
        }
        if (packable)
        {
            _locationByFrame[packed] = location;
        }
        else
        {
            _locationByWideFrame[(methodRef, line)] = location;
        }
        return location;
    }

    private int FunctionFor(long methodRef)
    {
        if (_functionByMethod.TryGetValue(methodRef, out var function))
        {
            return function;
        }
        function = -1;
        var pools = _pools!;
        if (pools.Methods.TryGetValue(methodRef, out var method) && pools.ClassNames.TryGetValue(method.ClassRef, out var classNameRef))
        {
            var className = JfrFrameNames.Normalize(pools.SymbolText(classNameRef) ?? string.Empty);
            var methodName = JfrFrameNames.Normalize(pools.SymbolText(method.NameRef) ?? string.Empty);
            var name = string.Concat(className, ".", methodName);
            if (!_functionByName.TryGetValue(name, out function))
            {
                function = _functionNames.Count;
                _functionNames.Add(name);
                _functionByName[name] = function;
            }
        }
        _functionByMethod[methodRef] = function;
        return function;
    }

    public JfrConversion Build()
    {
        var profiles = new List<JfrProfile>(_outputOrder.Count * 2);
        foreach (var output in _outputOrder)
        {
            var kind = Kinds[output.Kind];
            for (var column = 0; column < kind.Values.Length; column++)
            {
                var (sampleType, sampleUnit) = kind.Values[column];
                var type = new ProfileTypeId(kind.Metric, sampleType, sampleUnit, kind.PeriodType, kind.PeriodUnit);
                profiles.Add(new JfrProfile(type, _labelSets[output.LabelSet], BuildPprof(output, kind, column)));
            }
        }
        return new JfrConversion(profiles, _event);
    }

    private Profile BuildPprof(SampleColumns output, OutputKind kind, int column)
    {
        var strings = new Dictionary<string, long>(StringComparer.Ordinal);
        var profile = new Profile
        {
            TimeNanos = _options.StartTimeUnixNanos,
            DurationNanos = Math.Max(0, _options.EndTimeUnixNanos - _options.StartTimeUnixNanos),
            Period = output.Kind is Cpu or Wall ? _period : 0,
        };
        long Intern(string s)
        {
            if (!strings.TryGetValue(s, out var id))
            {
                id = profile.StringTable.Count;
                profile.StringTable.Add(s);
                strings[s] = id;
            }
            return id;
        }
        Intern(string.Empty);
        var (sampleType, sampleUnit) = kind.Values[column];
        profile.SampleType.Add(new PprofValueType { Type = Intern(sampleType), Unit = Intern(sampleUnit) });
        profile.PeriodType = new PprofValueType { Type = Intern(kind.PeriodType), Unit = Intern(kind.PeriodUnit) };
        profile.Mapping.Add(new Mapping { Id = 1, HasFunctions = true });

        // Global index → 1-based id in this profile (0 = not yet used).
        var locationIds = new int[_locationFunction.Count];
        var functionIds = new int[_functionNames.Count];
        var values = column == 0 ? output.Value0.Span : output.Value1.Span;
        var stacks = output.Stack.Span;
        var spanIds = output.SpanId.Span;
        var spanNames = output.SpanName.Span;
        var allLocations = _stackLocations.Span;
        for (var i = 0; i < stacks.Length; i++)
        {
            var sample = new Sample();
            sample.Value.Add(values[i]);
            var locations = allLocations.Slice(_stackStart[stacks[i]], _stackLength[stacks[i]]);
            foreach (var location in locations)
            {
                var id = locationIds[location];
                if (id == 0)
                {
                    var function = _locationFunction[location];
                    var functionId = functionIds[function];
                    if (functionId == 0)
                    {
                        functionId = profile.Function.Count + 1;
                        functionIds[function] = functionId;
                        profile.Function.Add(new Function { Id = (ulong)functionId, Name = Intern(_functionNames[function]) });
                    }
                    id = profile.Location.Count + 1;
                    locationIds[location] = id;
                    var pprofLocation = new Location { Id = (ulong)id, MappingId = 1 };
                    pprofLocation.Line.Add(new Line { FunctionId = (ulong)functionId, Line_ = _locationLine[location] });
                    profile.Location.Add(pprofLocation);
                }
                sample.LocationId.Add((ulong)id);
            }
            if (spanIds[i] != 0)
            {
                sample.Label.Add(new PprofLabel { Key = Intern(LabelNames.ProfileId), Str = Intern(spanIds[i].ToString("x16")) });
            }
            if (spanNames[i] != 0 && _labels.Strings.TryGetValue(spanNames[i], out var spanName) && spanName.Length > 0)
            {
                sample.Label.Add(new PprofLabel { Key = Intern("span_name"), Str = Intern(spanName) });
            }
            profile.Sample.Add(sample);
        }
        return profile;
    }

    public void Dispose()
    {
        _locationFunction.Dispose();
        _locationLine.Dispose();
        _stackStart.Dispose();
        _stackLength.Dispose();
        _stackLocations.Dispose();
        foreach (var output in _outputOrder)
        {
            output.Dispose();
        }
    }

    /// <summary>The samples of one output, deduplicated by (stack, span id, span name) as upstream does.</summary>
    private sealed class SampleColumns(int kind, int labelSet) : IDisposable
    {
        private readonly Dictionary<(int Stack, long SpanId, long SpanName), int> _index = [];

        public int Kind { get; } = kind;

        public int LabelSet { get; } = labelSet;

        public PooledBuffer<int> Stack { get; } = new();

        public PooledBuffer<long> SpanId { get; } = new();

        public PooledBuffer<long> SpanName { get; } = new();

        public PooledBuffer<long> Value0 { get; } = new();

        public PooledBuffer<long> Value1 { get; } = new();

        public void Add(int stack, long spanId, long spanName, long value0, long value1)
        {
            if (_index.TryGetValue((stack, spanId, spanName), out var sample))
            {
                Value0[sample] += value0;
                Value1[sample] += value1;
                return;
            }
            _index[(stack, spanId, spanName)] = Stack.Count;
            Stack.Add(stack);
            SpanId.Add(spanId);
            SpanName.Add(spanName);
            Value0.Add(value0);
            Value1.Add(value1);
        }

        public void Dispose()
        {
            Stack.Dispose();
            SpanId.Dispose();
            SpanName.Dispose();
            Value0.Dispose();
            Value1.Dispose();
        }
    }
}
