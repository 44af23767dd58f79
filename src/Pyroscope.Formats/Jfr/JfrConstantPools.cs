namespace Pyroscope.Formats.Jfr;

/// <summary>
/// The constants of one chunk that profiles need: stack traces (columnar), methods, classes, symbols, thread
/// states and pooled strings. Constants of other types are skipped as the metadata describes them.
/// </summary>
internal sealed class JfrConstantPools : IDisposable
{
    private readonly Dictionary<long, int> _stackIndex = [];
    private readonly PooledBuffer<int> _stackFrameStart = new();
    private readonly PooledBuffer<int> _stackFrameCount = new();
    private readonly PooledBuffer<long> _frameMethod = new(4096);
    private readonly PooledBuffer<int> _frameLine = new(4096);

    public Dictionary<long, (long ClassRef, long NameRef)> Methods { get; } = [];

    public Dictionary<long, long> ClassNames { get; } = [];

    public Dictionary<long, string> Symbols { get; } = [];

    public Dictionary<long, string> ThreadStates { get; } = [];

    public Dictionary<long, string> Strings { get; } = [];

    /// <summary>Symbols stored as references into the string pool, resolved once all checkpoints are read.</summary>
    private readonly List<(long SymbolId, long StringRef)> _symbolStringRefs = [];

    public void Clear()
    {
        _stackIndex.Clear();
        _stackFrameStart.Clear();
        _stackFrameCount.Clear();
        _frameMethod.Clear();
        _frameLine.Clear();
        Methods.Clear();
        ClassNames.Clear();
        Symbols.Clear();
        ThreadStates.Clear();
        Strings.Clear();
        _symbolStringRefs.Clear();
    }

    public bool TryGetStack(long stackRef, out ReadOnlySpan<long> methods, out ReadOnlySpan<int> lines)
    {
        if (!_stackIndex.TryGetValue(stackRef, out var index))
        {
            methods = default;
            lines = default;
            return false;
        }
        var start = _stackFrameStart[index];
        var count = _stackFrameCount[index];
        methods = _frameMethod.Span.Slice(start, count);
        lines = _frameLine.Span.Slice(start, count);
        return true;
    }

    public string? SymbolText(long symbolRef) => Symbols.GetValueOrDefault(symbolRef);

    /// <summary>Reads a checkpoint event; the reader is positioned after its size and type id and limited to it.</summary>
    public void ReadCheckpoint(ref JfrReader reader, JfrMetadata metadata)
    {
        reader.ReadVarLong("checkpoint start time");
        reader.ReadVarLong("checkpoint duration");
        reader.ReadVarLong("checkpoint delta");
        reader.ReadVarLong("checkpoint type");
        var poolCount = reader.ReadCount("constant pool count", 2);
        for (var p = 0; p < poolCount; p++)
        {
            var start = reader.Position;
            var classId = reader.ReadVarLong("constant pool class id");
            var type = metadata.ById(classId);
            if (type is null)
            {
                JfrReader.Throw(start, $"constant pool for class id {classId}, which the metadata does not declare");
            }
            var count = reader.ReadCount($"{type.Name} constant count", 1);
            switch (type.Name)
            {
                case "jdk.types.StackTrace":
                    ReadStackTraces(ref reader, type, count);
                    break;
                case "jdk.types.Method":
                    ReadMethods(ref reader, type, count);
                    break;
                case "java.lang.Class":
                    ReadClasses(ref reader, type, count);
                    break;
                case "jdk.types.Symbol":
                    ReadStringValued(ref reader, type, count, "string", Symbols, _symbolStringRefs);
                    break;
                case "jdk.types.ThreadState":
                    ReadStringValued(ref reader, type, count, "name", ThreadStates, null);
                    break;
                case "java.lang.String":
                    for (var i = 0; i < count; i++)
                    {
                        var key = reader.ReadVarLong("string constant id");
                        var text = reader.ReadString("string constant", out _);
                        Strings[key] = text ?? string.Empty;
                    }
                    break;
                default:
                    for (var i = 0; i < count; i++)
                    {
                        reader.ReadVarLong($"{type.Name} constant id");
                        JfrValues.SkipStruct(ref reader, type, 0);
                    }
                    break;
            }
        }
    }

    /// <summary>Called once all checkpoints of a chunk are read.</summary>
    public void ResolveDeferred()
    {
        foreach (var (symbolId, stringRef) in _symbolStringRefs)
        {
            Symbols[symbolId] = Strings.GetValueOrDefault(stringRef) ?? string.Empty;
        }
        _symbolStringRefs.Clear();
    }

    private void ReadStackTraces(ref JfrReader reader, JfrClass type, int count)
    {
        var fields = type.Fields;
        var framesIndex = type.IndexOf("frames");
        if (framesIndex < 0 || !fields[framesIndex].IsArray || fields[framesIndex].StructType is not { } frameType)
        {
            JfrReader.Throw(reader.Position, "jdk.types.StackTrace without a frames array of structs");
            return;
        }
        var methodIndex = frameType.IndexOf("method");
        var lineIndex = frameType.IndexOf("lineNumber");
        var frameFields = frameType.Fields;
        var allVarints = true;
        foreach (var field in frameFields)
        {
            allVarints &= !field.IsArray && field.Kind is JfrFieldKind.PoolRef or JfrFieldKind.Int or JfrFieldKind.Long or JfrFieldKind.Short or JfrFieldKind.Char;
        }
        for (var i = 0; i < count; i++)
        {
            var key = reader.ReadVarLong("stack trace id");
            var frameStart = _frameMethod.Count;
            var frameCount = 0;
            for (var f = 0; f < fields.Length; f++)
            {
                if (f != framesIndex)
                {
                    JfrValues.SkipValue(ref reader, fields[f], 0);
                    continue;
                }
                frameCount = reader.ReadCount("stack frame count", 1);
                if (allVarints)
                {
                    // Fast path for the usual frame layout (method, line, bytecode index, frame type: all varints).
                    for (var j = 0; j < frameCount; j++)
                    {
                        long method = 0;
                        var line = 0;
                        for (var k = 0; k < frameFields.Length; k++)
                        {
                            var value = reader.ReadVarLong("stack frame field");
                            if (k == methodIndex)
                            {
                                method = value;
                            }
                            else if (k == lineIndex)
                            {
                                line = (int)value;
                            }
                        }
                        _frameMethod.Add(method);
                        _frameLine.Add(line);
                    }
                    continue;
                }
                for (var j = 0; j < frameCount; j++)
                {
                    long method = 0;
                    var line = 0;
                    for (var k = 0; k < frameFields.Length; k++)
                    {
                        if (k == methodIndex)
                        {
                            method = JfrValues.ReadScalar(ref reader, frameFields[k]);
                        }
                        else if (k == lineIndex)
                        {
                            line = (int)JfrValues.ReadScalar(ref reader, frameFields[k]);
                        }
                        else
                        {
                            JfrValues.SkipValue(ref reader, frameFields[k], 1);
                        }
                    }
                    _frameMethod.Add(method);
                    _frameLine.Add(line);
                }
            }
            _stackIndex[key] = _stackFrameStart.Count;
            _stackFrameStart.Add(frameStart);
            _stackFrameCount.Add(frameCount);
        }
    }

    private void ReadMethods(ref JfrReader reader, JfrClass type, int count)
    {
        var fields = type.Fields;
        var classIndex = type.IndexOf("type");
        var nameIndex = type.IndexOf("name");
        for (var i = 0; i < count; i++)
        {
            var key = reader.ReadVarLong("method id");
            long classRef = 0, nameRef = 0;
            for (var f = 0; f < fields.Length; f++)
            {
                if (f == classIndex)
                {
                    classRef = JfrValues.ReadScalar(ref reader, fields[f]);
                }
                else if (f == nameIndex)
                {
                    nameRef = JfrValues.ReadScalar(ref reader, fields[f]);
                }
                else
                {
                    JfrValues.SkipValue(ref reader, fields[f], 0);
                }
            }
            Methods[key] = (classRef, nameRef);
        }
    }

    private void ReadClasses(ref JfrReader reader, JfrClass type, int count)
    {
        var fields = type.Fields;
        var nameIndex = type.IndexOf("name");
        for (var i = 0; i < count; i++)
        {
            var key = reader.ReadVarLong("class id");
            long nameRef = 0;
            for (var f = 0; f < fields.Length; f++)
            {
                if (f == nameIndex)
                {
                    nameRef = JfrValues.ReadScalar(ref reader, fields[f]);
                }
                else
                {
                    JfrValues.SkipValue(ref reader, fields[f], 0);
                }
            }
            ClassNames[key] = nameRef;
        }
    }

    private static void ReadStringValued(
        ref JfrReader reader,
        JfrClass type,
        int count,
        string fieldName,
        Dictionary<long, string> target,
        List<(long, long)>? deferred)
    {
        var fields = type.Fields;
        var textIndex = type.IndexOf(fieldName);
        for (var i = 0; i < count; i++)
        {
            var key = reader.ReadVarLong($"{type.Name} id");
            string? text = null;
            for (var f = 0; f < fields.Length; f++)
            {
                if (f == textIndex && fields[f].Kind == JfrFieldKind.String && !fields[f].IsArray)
                {
                    text = reader.ReadString(fieldName, out var poolRef);
                    if (text is null && poolRef != 0 && deferred is not null)
                    {
                        deferred.Add((key, poolRef));
                    }
                }
                else
                {
                    JfrValues.SkipValue(ref reader, fields[f], 0);
                }
            }
            target[key] = text ?? string.Empty;
        }
    }

    public void Dispose()
    {
        _stackFrameStart.Dispose();
        _stackFrameCount.Dispose();
        _frameMethod.Dispose();
        _frameLine.Dispose();
    }
}
