namespace Pyroscope.Formats.Jfr;

/// <summary>The event types profiles are made from; everything else is skipped by size.</summary>
internal enum JfrEventKind : byte
{
    ExecutionSample,
    WallClockSample,
    AllocationInNewTlab,
    AllocationOutsideTlab,
    AllocationSample,
    MonitorEnter,
    ThreadPark,
    LiveObject,
    Malloc,
    ActiveSetting,
}

/// <summary>The fields of a profiling event that conversion uses; <see cref="Value"/> depends on the kind.</summary>
internal readonly record struct JfrEvent(
    JfrEventKind Kind,
    long StackTrace,
    long State,
    long ContextId,
    long SpanId,
    long SpanName,
    long Value);

internal readonly record struct JfrChunkHeader(
    int Offset,
    long Size,
    long MetadataOffset,
    long StartNanos,
    long DurationNanos,
    long TicksPerSecond);

internal interface IJfrEventSink
{
    /// <summary>All constants of the chunk are loaded before its events are delivered.</summary>
    void OnChunk(in JfrChunkHeader header, JfrConstantPools pools);

    void OnEvent(in JfrEvent e);

    void OnActiveSetting(string? name, string? value);
}

/// <summary>
/// Walks the chunks of a recording: header, metadata, all checkpoint events (constant pools), then the events.
/// </summary>
internal static class JfrChunkParser
{
    public const int ChunkHeaderSize = 68;
    private const long MetadataEventType = 0;
    private const long CheckpointEventType = 1;

    private static readonly (string Name, JfrEventKind Kind, string? ValueField)[] KnownEvents =
    [
        ("jdk.ExecutionSample", JfrEventKind.ExecutionSample, null),
        ("profiler.WallClockSample", JfrEventKind.WallClockSample, "samples"),
        ("jdk.ObjectAllocationInNewTLAB", JfrEventKind.AllocationInNewTlab, "tlabSize"),
        ("jdk.ObjectAllocationOutsideTLAB", JfrEventKind.AllocationOutsideTlab, "allocationSize"),
        ("jdk.ObjectAllocationSample", JfrEventKind.AllocationSample, "weight"),
        ("jdk.JavaMonitorEnter", JfrEventKind.MonitorEnter, "duration"),
        ("jdk.ThreadPark", JfrEventKind.ThreadPark, "duration"),
        ("profiler.LiveObject", JfrEventKind.LiveObject, null),
        ("profiler.Malloc", JfrEventKind.Malloc, "size"),
        ("jdk.ActiveSetting", JfrEventKind.ActiveSetting, null),
    ];

    // Slots of the fields conversion reads from an event.
    private const sbyte SlotStackTrace = 0, SlotState = 1, SlotContextId = 2, SlotSpanId = 3, SlotSpanName = 4, SlotValue = 5;
    private const sbyte SlotSettingName = 6, SlotSettingValue = 7;

    private sealed class EventBinding(JfrEventKind kind, JfrClass type, sbyte[] slots)
    {
        public JfrEventKind Kind { get; } = kind;

        public JfrClass Type { get; } = type;

        /// <summary>Per field of <see cref="Type"/>: the slot its value goes to, or -1 to skip it.</summary>
        public sbyte[] Slots { get; } = slots;
    }

    public static void Parse(ReadOnlySpan<byte> data, JfrConstantPools pools, IJfrEventSink sink)
    {
        if (data.Length == 0)
        {
            throw new JfrFormatException(0, "empty input, expected a JFR chunk header");
        }
        var offset = 0;
        while (offset < data.Length)
        {
            var header = ReadHeader(data, offset);
            var chunkEnd = (int)(offset + header.Size);
            pools.Clear();
            var metadata = ReadMetadata(data, offset, chunkEnd, header);
            ReadCheckpoints(data, offset, chunkEnd, metadata, pools);
            sink.OnChunk(header, pools);
            ReadEvents(data, offset, chunkEnd, Bind(metadata), pools, sink);
            offset = chunkEnd;
        }
    }

    private static JfrChunkHeader ReadHeader(ReadOnlySpan<byte> data, int offset)
    {
        var reader = new JfrReader(data, offset, data.Length);
        var magic = reader.ReadInt32BigEndian("chunk magic");
        if (magic != 0x464C5200)
        {
            JfrReader.Throw(offset, $"expected chunk magic 'FLR\\0', found 0x{magic:x8}");
        }
        var version = reader.ReadInt32BigEndian("chunk version");
        var major = version >>> 16;
        if (major is < 1 or > 2)
        {
            JfrReader.Throw(offset + 4, $"unsupported JFR version {major}.{version & 0xFFFF}");
        }
        var size = reader.ReadInt64BigEndian("chunk size");
        var constantPoolOffset = reader.ReadInt64BigEndian("constant pool offset");
        var metadataOffset = reader.ReadInt64BigEndian("metadata offset");
        var startNanos = reader.ReadInt64BigEndian("chunk start time");
        var durationNanos = reader.ReadInt64BigEndian("chunk duration");
        reader.ReadInt64BigEndian("chunk start ticks");
        var ticksPerSecond = reader.ReadInt64BigEndian("ticks per second");
        var features = reader.ReadInt32BigEndian("chunk features");
        if (size < ChunkHeaderSize || size > data.Length - offset)
        {
            JfrReader.Throw(offset + 8, $"chunk size {size} does not fit the {data.Length - offset} bytes left");
        }
        if (metadataOffset < ChunkHeaderSize || metadataOffset >= size)
        {
            JfrReader.Throw(offset + 24, $"metadata offset {metadataOffset} outside the chunk of {size} bytes");
        }
        if (constantPoolOffset < 0 || constantPoolOffset >= size)
        {
            JfrReader.Throw(offset + 16, $"constant pool offset {constantPoolOffset} outside the chunk of {size} bytes");
        }
        if ((features & 1) == 0)
        {
            JfrReader.Throw(offset + 64, "uncompressed integers (chunk feature bit 0 unset) are not supported");
        }
        return new JfrChunkHeader(offset, size, metadataOffset, startNanos, durationNanos, ticksPerSecond);
    }

    private static JfrMetadata ReadMetadata(ReadOnlySpan<byte> data, int chunkStart, int chunkEnd, in JfrChunkHeader header)
    {
        var eventStart = (int)(chunkStart + header.MetadataOffset);
        var reader = new JfrReader(data, eventStart, chunkEnd);
        var size = reader.ReadVarLong("metadata event size");
        if (size <= 0 || size > chunkEnd - eventStart)
        {
            JfrReader.Throw(eventStart, $"metadata event size {size} does not fit the chunk");
        }
        reader.Limit = eventStart + (int)size;
        var typeStart = reader.Position;
        var type = reader.ReadVarLong("metadata event type");
        if (type != MetadataEventType)
        {
            JfrReader.Throw(typeStart, $"expected the metadata event (type 0), found type {type}");
        }
        return JfrMetadata.Read(ref reader);
    }

    private static void ReadCheckpoints(ReadOnlySpan<byte> data, int chunkStart, int chunkEnd, JfrMetadata metadata, JfrConstantPools pools)
    {
        var position = chunkStart + ChunkHeaderSize;
        while (position < chunkEnd)
        {
            var reader = new JfrReader(data, position, chunkEnd);
            var size = ReadEventSize(ref reader, position, chunkEnd);
            var type = reader.ReadVarLong("event type");
            if (type == CheckpointEventType)
            {
                reader.Limit = position + size;
                pools.ReadCheckpoint(ref reader, metadata);
            }
            position += size;
        }
        pools.ResolveDeferred();
    }

    private static int ReadEventSize(ref JfrReader reader, int position, int chunkEnd)
    {
        var size = reader.ReadVarLong("event size");
        if (size <= 0 || size > chunkEnd - position)
        {
            JfrReader.Throw(position, $"event size {size} does not fit the {chunkEnd - position} bytes left in the chunk");
        }
        return (int)size;
    }

    private static Dictionary<long, EventBinding> Bind(JfrMetadata metadata)
    {
        var bindings = new Dictionary<long, EventBinding>();
        foreach (var (name, kind, valueField) in KnownEvents)
        {
            if (metadata.ByName(name) is not { } type)
            {
                continue;
            }
            var slots = new sbyte[type.Fields.Length];
            for (var i = 0; i < slots.Length; i++)
            {
                var field = type.Fields[i];
                slots[i] = -1;
                if (field.IsArray)
                {
                    continue;
                }
                if (kind == JfrEventKind.ActiveSetting)
                {
                    if (field.Kind == JfrFieldKind.String)
                    {
                        slots[i] = field.Name switch { "name" => SlotSettingName, "value" => SlotSettingValue, _ => (sbyte)-1 };
                    }
                    continue;
                }
                if (field.Kind is JfrFieldKind.String or JfrFieldKind.Struct or JfrFieldKind.Unresolved)
                {
                    continue;
                }
                slots[i] = field.Name switch
                {
                    "stackTrace" => SlotStackTrace,
                    "state" => SlotState,
                    "contextId" => SlotContextId,
                    "spanId" => SlotSpanId,
                    "spanName" => SlotSpanName,
                    _ when field.Name == valueField => SlotValue,
                    _ => (sbyte)-1,
                };
            }
            bindings[type.Id] = new EventBinding(kind, type, slots);
        }
        return bindings;
    }

    private static void ReadEvents(ReadOnlySpan<byte> data, int chunkStart, int chunkEnd, Dictionary<long, EventBinding> bindings, JfrConstantPools pools, IJfrEventSink sink)
    {
        Span<long> values = stackalloc long[6];
        var position = chunkStart + ChunkHeaderSize;
        while (position < chunkEnd)
        {
            var reader = new JfrReader(data, position, chunkEnd);
            var size = ReadEventSize(ref reader, position, chunkEnd);
            var type = reader.ReadVarLong("event type");
            if (type > CheckpointEventType && bindings.TryGetValue(type, out var binding))
            {
                reader.Limit = position + size;
                if (binding.Kind == JfrEventKind.ActiveSetting)
                {
                    ReadActiveSetting(ref reader, binding, pools, sink);
                }
                else
                {
                    values.Clear();
                    var fields = binding.Type.Fields;
                    var slots = binding.Slots;
                    for (var i = 0; i < fields.Length; i++)
                    {
                        var slot = slots[i];
                        if (slot >= 0)
                        {
                            values[slot] = JfrValues.ReadScalar(ref reader, fields[i]);
                        }
                        else
                        {
                            JfrValues.SkipValue(ref reader, fields[i], 0);
                        }
                    }
                    sink.OnEvent(new JfrEvent(
                        binding.Kind,
                        values[SlotStackTrace],
                        values[SlotState],
                        values[SlotContextId],
                        values[SlotSpanId],
                        values[SlotSpanName],
                        values[SlotValue]));
                }
            }
            position += size;
        }
    }

    private static void ReadActiveSetting(ref JfrReader reader, EventBinding binding, JfrConstantPools pools, IJfrEventSink sink)
    {
        string? name = null, value = null;
        var fields = binding.Type.Fields;
        for (var i = 0; i < fields.Length; i++)
        {
            switch (binding.Slots[i])
            {
                case SlotSettingName:
                    name = ReadPooledString(ref reader, pools, "setting name");
                    break;
                case SlotSettingValue:
                    value = ReadPooledString(ref reader, pools, "setting value");
                    break;
                default:
                    JfrValues.SkipValue(ref reader, fields[i], 0);
                    break;
            }
        }
        sink.OnActiveSetting(name, value);
    }

    private static string? ReadPooledString(ref JfrReader reader, JfrConstantPools pools, string what)
    {
        var text = reader.ReadString(what, out var poolRef);
        return text ?? (poolRef != 0 ? pools.Strings.GetValueOrDefault(poolRef) : null);
    }
}
