namespace Pyroscope.Formats.Jfr;

/// <summary>
/// The <c>labels</c> part of a JFR ingest: which labels each async-profiler context id carried.
/// Wire-compatible with upstream's message (no package):
/// <code>
/// message Context { map&lt;int64, int64&gt; labels = 1; }                       // label name id → value id
/// message LabelsSnapshot { map&lt;int64, Context&gt; contexts = 1; map&lt;int64, string&gt; strings = 2; }
/// </code>
/// Decoded by hand: it is tiny and this keeps the span-based API copy-free.
/// </summary>
public sealed class JfrLabelsSnapshot
{
    public static readonly JfrLabelsSnapshot Empty = new();

    public Dictionary<long, List<(long NameId, long ValueId)>> Contexts { get; } = [];

    public Dictionary<long, string> Strings { get; } = [];

    public static JfrLabelsSnapshot Parse(ReadOnlySpan<byte> data)
    {
        var snapshot = new JfrLabelsSnapshot();
        var reader = new ProtoReader(data);
        while (!reader.End)
        {
            var (field, wireType) = reader.ReadTag();
            if (field == 1 && wireType == 2)
            {
                var entry = new ProtoReader(reader.ReadBytes());
                long contextId = 0;
                var labels = new List<(long, long)>();
                while (!entry.End)
                {
                    var (f, w) = entry.ReadTag();
                    if (f == 1 && w == 0)
                    {
                        contextId = (long)entry.ReadVarint();
                    }
                    else if (f == 2 && w == 2)
                    {
                        ReadContext(entry.ReadBytes(), labels);
                    }
                    else
                    {
                        entry.SkipField(w);
                    }
                }
                snapshot.Contexts[contextId] = labels;
            }
            else if (field == 2 && wireType == 2)
            {
                var entry = new ProtoReader(reader.ReadBytes());
                long id = 0;
                var text = string.Empty;
                while (!entry.End)
                {
                    var (f, w) = entry.ReadTag();
                    if (f == 1 && w == 0)
                    {
                        id = (long)entry.ReadVarint();
                    }
                    else if (f == 2 && w == 2)
                    {
                        text = System.Text.Encoding.UTF8.GetString(entry.ReadBytes());
                    }
                    else
                    {
                        entry.SkipField(w);
                    }
                }
                snapshot.Strings[id] = text;
            }
            else
            {
                reader.SkipField(wireType);
            }
        }
        return snapshot;
    }

    private static void ReadContext(ReadOnlySpan<byte> data, List<(long, long)> labels)
    {
        var context = new ProtoReader(data);
        while (!context.End)
        {
            var (field, wireType) = context.ReadTag();
            if (field != 1 || wireType != 2)
            {
                context.SkipField(wireType);
                continue;
            }
            var entry = new ProtoReader(context.ReadBytes());
            long key = 0, value = 0;
            while (!entry.End)
            {
                var (f, w) = entry.ReadTag();
                if (f == 1 && w == 0)
                {
                    key = (long)entry.ReadVarint();
                }
                else if (f == 2 && w == 0)
                {
                    value = (long)entry.ReadVarint();
                }
                else
                {
                    entry.SkipField(w);
                }
            }
            labels.Add((key, value));
        }
    }

    /// <summary>Minimal protobuf wire reader; offsets in errors are relative to the enclosing message.</summary>
    private ref struct ProtoReader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _position;

        public readonly bool End => _position >= _data.Length;

        public (int Field, int WireType) ReadTag()
        {
            var tag = ReadVarint();
            if (tag >> 3 is 0 or > int.MaxValue)
            {
                Fail($"invalid field tag {tag}");
            }
            return ((int)(tag >> 3), (int)(tag & 7));
        }

        public ulong ReadVarint()
        {
            ulong value = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (_position >= _data.Length)
                {
                    Fail("truncated varint");
                }
                var b = _data[_position++];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }
            Fail("varint longer than 10 bytes");
            return 0;
        }

        public ReadOnlySpan<byte> ReadBytes()
        {
            var length = ReadVarint();
            if (length > (ulong)(_data.Length - _position))
            {
                Fail($"length {length} exceeds the {_data.Length - _position} bytes left");
            }
            var slice = _data.Slice(_position, (int)length);
            _position += (int)length;
            return slice;
        }

        public void SkipField(int wireType)
        {
            switch (wireType)
            {
                case 0: ReadVarint(); break;
                case 1: Advance(8); break;
                case 2: ReadBytes(); break;
                case 5: Advance(4); break;
                default: Fail($"unsupported wire type {wireType}"); break;
            }
        }

        private void Advance(int count)
        {
            if (_data.Length - _position < count)
            {
                Fail("truncated fixed-size field");
            }
            _position += count;
        }

        private readonly void Fail(string problem) =>
            throw new JfrFormatException(_position, $"labels snapshot protobuf: {problem}");
    }
}
