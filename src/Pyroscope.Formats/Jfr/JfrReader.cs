using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Text;

namespace Pyroscope.Formats.Jfr;

/// <summary>
/// A bounds-checked cursor over JFR bytes with compressed integers (LEB128-style, the 9th byte carrying 8 bits).
/// Every read past <see cref="Limit"/> throws <see cref="JfrFormatException"/> naming the offset and what was expected.
/// </summary>
internal ref struct JfrReader
{
    private readonly ReadOnlySpan<byte> _data;

    public JfrReader(ReadOnlySpan<byte> data, int position, int limit)
    {
        _data = data;
        Position = position;
        Limit = limit;
    }

    public int Position;

    public int Limit;

    public readonly int Remaining => Limit - Position;

    public readonly ReadOnlySpan<byte> Data => _data;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public byte ReadByte(string what)
    {
        var pos = Position;
        if ((uint)pos >= (uint)Limit)
        {
            ThrowTruncated(pos, what);
        }
        Position = pos + 1;
        return _data[pos];
    }

    /// <summary>A compressed long: 7 bits per byte for up to 8 bytes, then a full 9th byte.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long ReadVarLong(string what)
    {
        var pos = Position;
        if ((uint)pos < (uint)Limit)
        {
            var b = _data[pos];
            if (b < 0x80)
            {
                Position = pos + 1;
                return b;
            }
        }
        return ReadVarLongSlow(what);
    }

    private long ReadVarLongSlow(string what)
    {
        ulong value = 0;
        for (var shift = 0; shift < 56; shift += 7)
        {
            var b = ReadByte(what);
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return (long)value;
            }
        }
        value |= (ulong)ReadByte(what) << 56;
        return (long)value;
    }

    /// <summary>A compressed int (stored like a long; JFR writers use the same encoding).</summary>
    public int ReadVarInt(string what)
    {
        var start = Position;
        var value = ReadVarLong(what);
        if (value < int.MinValue || value > int.MaxValue)
        {
            Throw(start, $"{what}: value {value} does not fit in an int");
        }
        return (int)value;
    }

    /// <summary>A non-negative count or length that cannot exceed the remaining bytes times <paramref name="perItemBytes"/>.</summary>
    public int ReadCount(string what, int minBytesPerItem = 1)
    {
        var start = Position;
        var value = ReadVarLong(what);
        if (value < 0 || (minBytesPerItem > 0 && value > (long)Remaining / minBytesPerItem))
        {
            Throw(start, $"{what}: count {value} exceeds the {Remaining} bytes left");
        }
        return (int)value;
    }

    public int ReadInt32BigEndian(string what)
    {
        var pos = Position;
        if (Limit - pos < 4)
        {
            ThrowTruncated(pos, what);
        }
        Position = pos + 4;
        return BinaryPrimitives.ReadInt32BigEndian(_data.Slice(pos, 4));
    }

    public long ReadInt64BigEndian(string what)
    {
        var pos = Position;
        if (Limit - pos < 8)
        {
            ThrowTruncated(pos, what);
        }
        Position = pos + 8;
        return BinaryPrimitives.ReadInt64BigEndian(_data.Slice(pos, 8));
    }

    public void Skip(int count, string what)
    {
        if (count < 0 || Limit - Position < count)
        {
            ThrowTruncated(Position, what);
        }
        Position += count;
    }

    public ReadOnlySpan<byte> ReadBytes(int count, string what)
    {
        var pos = Position;
        Skip(count, what);
        return _data.Slice(pos, count);
    }

    /// <summary>
    /// Reads a JFR string: 0 null, 1 empty, 2 constant-pool reference, 3 UTF-8, 4 char array, 5 Latin-1.
    /// A pool reference is returned through <paramref name="poolRef"/> with a null result.
    /// </summary>
    public string? ReadString(string what, out long poolRef)
    {
        poolRef = 0;
        var start = Position;
        var encoding = ReadByte(what);
        switch (encoding)
        {
            case 0:
                return null;
            case 1:
                return string.Empty;
            case 2:
                poolRef = ReadVarLong(what);
                return null;
            case 3:
                {
                    var length = ReadCount(what);
                    return Encoding.UTF8.GetString(ReadBytes(length, what));
                }
            case 4:
                {
                    var length = ReadCount(what);
                    return ReadCharArray(length, what);
                }
            case 5:
                {
                    var length = ReadCount(what);
                    return Encoding.Latin1.GetString(ReadBytes(length, what));
                }
            default:
                Throw(start, $"{what}: unknown string encoding {encoding}");
                return null;
        }
    }

    private string ReadCharArray(int length, string what)
    {
        if (length == 0)
        {
            return string.Empty;
        }
        var chars = length <= 256 ? stackalloc char[length] : new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = (char)ReadVarLong(what);
        }
        return new string(chars);
    }

    /// <summary>Skips a string without materialising it.</summary>
    public void SkipString(string what)
    {
        var start = Position;
        var encoding = ReadByte(what);
        switch (encoding)
        {
            case 0:
            case 1:
                return;
            case 2:
                ReadVarLong(what);
                return;
            case 3:
            case 5:
                Skip(ReadCount(what), what);
                return;
            case 4:
                {
                    var length = ReadCount(what);
                    for (var i = 0; i < length; i++)
                    {
                        ReadVarLong(what);
                    }
                    return;
                }
            default:
                Throw(start, $"{what}: unknown string encoding {encoding}");
                return;
        }
    }

    [DoesNotReturn]
    public static void ThrowTruncated(int offset, string what) =>
        throw new JfrFormatException(offset, $"unexpected end of data while reading {what}");

    [DoesNotReturn]
    public static void Throw(int offset, string problem) => throw new JfrFormatException(offset, problem);
}
