using System.Buffers.Binary;
using System.Text;

namespace Pyroscope.Formats.Tests.Jfr;

/// <summary>
/// Writes small JFR chunks from scratch (compressed integers, padded event sizes as the JDK writes them) so
/// tests can cover event types and encodings no real fixture here holds, with values known in advance.
/// </summary>
internal sealed class SyntheticJfrWriter
{
    public sealed record Field(string Name, long Type, bool Pool = false, bool Array = false);

    public sealed record Class(long Id, string Name, params Field[] Fields);

    private readonly List<Class> _classes = [];
    private readonly List<byte[]> _checkpoints = [];
    private readonly List<byte[]> _events = [];

    public long TicksPerSecond { get; set; } = 1_000_000_000;

    public SyntheticJfrWriter Define(Class cls)
    {
        _classes.Add(cls);
        return this;
    }

    /// <summary>A checkpoint event holding the given pools: (class id, [(key, encoded value)]).</summary>
    public SyntheticJfrWriter Checkpoint(params (long ClassId, (long Key, byte[] Value)[] Entries)[] pools)
    {
        var body = new Buf();
        body.VarLong(1).VarLong(0).VarLong(0).VarLong(0).VarLong(1).VarLong(pools.Length);
        foreach (var (classId, entries) in pools)
        {
            body.VarLong(classId).VarLong(entries.Length);
            foreach (var (key, value) in entries)
            {
                body.VarLong(key).Bytes(value);
            }
        }
        _checkpoints.Add(body.ToArray());
        return this;
    }

    public SyntheticJfrWriter Event(long typeId, byte[] fields)
    {
        _events.Add(new Buf().VarLong(typeId).Bytes(fields).ToArray());
        return this;
    }

    public byte[] Build()
    {
        var chunk = new Buf();
        chunk.Bytes(new byte[68]);
        var metadataOffset = chunk.Length;
        chunk.Bytes(Framed(Metadata()));
        var checkpointOffset = chunk.Length;
        foreach (var checkpoint in _checkpoints)
        {
            checkpointOffset = chunk.Length;
            chunk.Bytes(Framed(checkpoint));
        }
        foreach (var e in _events)
        {
            chunk.Bytes(Framed(e));
        }
        var bytes = chunk.ToArray();
        var header = bytes.AsSpan();
        "FLR\0"u8.CopyTo(header);
        BinaryPrimitives.WriteInt16BigEndian(header[4..], 2);
        BinaryPrimitives.WriteInt16BigEndian(header[6..], 1);
        BinaryPrimitives.WriteInt64BigEndian(header[8..], bytes.Length);
        BinaryPrimitives.WriteInt64BigEndian(header[16..], checkpointOffset);
        BinaryPrimitives.WriteInt64BigEndian(header[24..], metadataOffset);
        BinaryPrimitives.WriteInt64BigEndian(header[32..], 1_700_000_000_000_000_000);
        BinaryPrimitives.WriteInt64BigEndian(header[40..], 1_000_000_000);
        BinaryPrimitives.WriteInt64BigEndian(header[48..], 0);
        BinaryPrimitives.WriteInt64BigEndian(header[56..], TicksPerSecond);
        BinaryPrimitives.WriteInt32BigEndian(header[64..], 1);
        return bytes;
    }

    /// <summary>Event size as a 4-byte padded varint, counting itself.</summary>
    private static byte[] Framed(byte[] body)
    {
        var size = body.Length + 4;
        var framed = new byte[size];
        framed[0] = (byte)(0x80 | (size & 0x7f));
        framed[1] = (byte)(0x80 | ((size >> 7) & 0x7f));
        framed[2] = (byte)(0x80 | ((size >> 14) & 0x7f));
        framed[3] = (byte)((size >> 21) & 0x7f);
        body.CopyTo(framed, 4);
        return framed;
    }

    private byte[] Metadata()
    {
        var strings = new List<string>();
        int S(string s)
        {
            var i = strings.IndexOf(s);
            if (i < 0)
            {
                strings.Add(s);
                i = strings.Count - 1;
            }
            return i;
        }
        var tree = new Buf();
        void Element(string name, (string, string)[] attributes, int children)
        {
            tree.VarLong(S(name)).VarLong(attributes.Length);
            foreach (var (k, v) in attributes)
            {
                tree.VarLong(S(k)).VarLong(S(v));
            }
            tree.VarLong(children);
        }
        Element("root", [], 2);
        Element("metadata", [], _classes.Count);
        foreach (var cls in _classes)
        {
            Element("class", [("name", cls.Name), ("id", cls.Id.ToString())], cls.Fields.Length);
            foreach (var f in cls.Fields)
            {
                var attributes = new List<(string, string)> { ("name", f.Name), ("class", f.Type.ToString()) };
                if (f.Pool)
                {
                    attributes.Add(("constantPool", "true"));
                }
                if (f.Array)
                {
                    attributes.Add(("dimension", "1"));
                }
                Element("field", [.. attributes], 0);
            }
        }
        Element("region", [("locale", "en_US")], 0);
        var body = new Buf().VarLong(0).VarLong(0).VarLong(0).VarLong(1).VarLong(strings.Count);
        foreach (var s in strings)
        {
            body.Utf8(s);
        }
        return body.Bytes(tree.ToArray()).ToArray();
    }

    /// <summary>Field value encoder.</summary>
    public sealed class Buf
    {
        private readonly MemoryStream _stream = new();

        public int Length => (int)_stream.Length;

        public Buf VarLong(long value)
        {
            var v = (ulong)value;
            for (var i = 0; i < 8; i++)
            {
                if (v < 0x80)
                {
                    _stream.WriteByte((byte)v);
                    return this;
                }
                _stream.WriteByte((byte)(v | 0x80));
                v >>= 7;
            }
            _stream.WriteByte((byte)v);
            return this;
        }

        public Buf Byte(byte b)
        {
            _stream.WriteByte(b);
            return this;
        }

        public Buf Bytes(ReadOnlySpan<byte> bytes)
        {
            _stream.Write(bytes);
            return this;
        }

        public Buf Utf8(string s)
        {
            var bytes = Encoding.UTF8.GetBytes(s);
            return Byte(3).VarLong(bytes.Length).Bytes(bytes);
        }

        public Buf Latin1(string s)
        {
            var bytes = Encoding.Latin1.GetBytes(s);
            return Byte(5).VarLong(bytes.Length).Bytes(bytes);
        }

        public Buf CharArray(string s)
        {
            Byte(4).VarLong(s.Length);
            foreach (var c in s)
            {
                VarLong(c);
            }
            return this;
        }

        public Buf Float(float f)
        {
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteSingleBigEndian(b, f);
            return Bytes(b);
        }

        public Buf Double(double d)
        {
            Span<byte> b = stackalloc byte[8];
            BinaryPrimitives.WriteDoubleBigEndian(b, d);
            return Bytes(b);
        }

        public byte[] ToArray() => _stream.ToArray();
    }
}
