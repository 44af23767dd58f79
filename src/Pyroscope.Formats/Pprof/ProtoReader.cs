using System.Runtime.CompilerServices;

namespace Pyroscope.Formats.Pprof;

/// <summary>
/// Protobuf wire format over a span, forward only, allocation free. Malformed input throws
/// <see cref="InvalidDataException"/> naming what and where; callers wrap it into a format error.
/// </summary>
internal ref struct ProtoReader(ReadOnlySpan<byte> data, int baseOffset = 0)
{
    public const int Varint = 0;
    public const int Fixed64 = 1;
    public const int LengthDelimited = 2;
    public const int StartGroup = 3;
    public const int EndGroup = 4;
    public const int Fixed32 = 5;

    private readonly ReadOnlySpan<byte> _data = data;
    private int _position;

    public readonly bool End => _position >= _data.Length;

    /// <summary>Offset of the next byte in the outermost buffer.</summary>
    public readonly int Offset => baseOffset + _position;

    /// <summary>The next field's number and wire type; the end of the data must be checked first.</summary>
    public (int Field, int WireType) ReadTag()
    {
        var tag = ReadVarint();
        var field = tag >> 3;
        if (field == 0 || field > int.MaxValue)
        {
            throw Malformed($"invalid field tag {tag}");
        }
        return ((int)field, (int)(tag & 7));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong ReadVarint()
    {
        // One and two bytes inline: tags, small ids and most location ids of a profile.
        var rest = _data.Slice(_position);
        if (rest.Length >= 2)
        {
            var b0 = rest[0];
            if (b0 < 0x80)
            {
                _position++;
                return b0;
            }
            var b1 = rest[1];
            if (b1 < 0x80)
            {
                _position += 2;
                return (b0 & 0x7fu) | ((ulong)b1 << 7);
            }
        }
        return ReadVarintSlow();
    }

    private ulong ReadVarintSlow()
    {
        ulong result = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            if (_position >= _data.Length)
            {
                throw Malformed("truncated varint");
            }
            var b = _data[_position++];
            result |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80)
            {
                return result;
            }
        }
        throw Malformed("varint longer than 10 bytes");
    }

    public long ReadInt64() => (long)ReadVarint();

    /// <summary>A length-delimited field's bytes; <paramref name="offset"/> is where they start in the outermost buffer.</summary>
    public ReadOnlySpan<byte> ReadLengthDelimited(out int offset)
    {
        var length = ReadVarint();
        if (length > (ulong)(_data.Length - _position))
        {
            throw Malformed($"field length {length} beyond the end of the data");
        }
        offset = baseOffset + _position;
        var slice = _data.Slice(_position, (int)length);
        _position += (int)length;
        return slice;
    }

    public ReadOnlySpan<byte> ReadLengthDelimited() => ReadLengthDelimited(out _);

    /// <summary>A nested reader over a length-delimited field, keeping offsets relative to the outermost buffer.</summary>
    public ProtoReader ReadMessage()
    {
        var bytes = ReadLengthDelimited(out var offset);
        return new ProtoReader(bytes, offset);
    }

    /// <summary>
    /// Reads a repeated varint field, packed (wire type 2) or not (0), into <paramref name="sink"/>.
    /// </summary>
    public void ReadRepeatedVarint<TSink>(int wireType, ref TSink sink) where TSink : IVarintSink, allows ref struct
    {
        if (wireType == Varint)
        {
            sink.Add(ReadVarint());
            return;
        }
        var packed = new ProtoReader(ReadLengthDelimited());
        while (!packed.End)
        {
            sink.Add(packed.ReadVarint());
        }
    }

    public void Skip(int wireType, int field)
    {
        switch (wireType)
        {
            case Varint:
                ReadVarint();
                break;
            case Fixed64:
                Advance(8);
                break;
            case LengthDelimited:
                ReadLengthDelimited();
                break;
            case Fixed32:
                Advance(4);
                break;
            case StartGroup:
                SkipGroup(field);
                break;
            default:
                throw Malformed($"unexpected wire type {wireType} for field {field}");
        }
    }

    private void SkipGroup(int field)
    {
        while (true)
        {
            if (End)
            {
                throw Malformed($"group of field {field} is not closed");
            }
            var (inner, wireType) = ReadTag();
            if (wireType == EndGroup)
            {
                if (inner != field)
                {
                    throw Malformed($"group of field {field} closed as field {inner}");
                }
                return;
            }
            Skip(wireType, inner);
        }
    }

    private void Advance(int bytes)
    {
        if (_data.Length - _position < bytes)
        {
            throw Malformed("truncated fixed-size field");
        }
        _position += bytes;
    }

    private readonly InvalidDataException Malformed(string what) => new($"{what} at byte {Offset}");
}

/// <summary>Receives the values of a repeated varint field.</summary>
internal interface IVarintSink
{
    void Add(ulong value);
}
