using System.Buffers;
using System.Text;

namespace Pyroscope.Storage.Codec;

/// <summary>A growable little-endian/varint writer over a pooled buffer, used by block and WAL encoders.</summary>
internal sealed class ByteWriter : IDisposable
{
    private byte[] _buffer;
    private int _length;

    public ByteWriter(int initialCapacity = 4096)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(initialCapacity);
    }

    public int Length => _length;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _length);

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _length);

    public void Reset() => _length = 0;

    public void WriteUVarint(ulong value)
    {
        Ensure(10);
        while (value >= 0x80)
        {
            _buffer[_length++] = (byte)(value | 0x80);
            value >>= 7;
        }
        _buffer[_length++] = (byte)value;
    }

    public void WriteVarint(long value) => WriteUVarint((ulong)((value << 1) ^ (value >> 63)));

    public void WriteByte(byte value)
    {
        Ensure(1);
        _buffer[_length++] = value;
    }

    public void WriteUInt32(uint value)
    {
        Ensure(4);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(_length), value);
        _length += 4;
    }

    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(_buffer.AsSpan(_length));
        _length += bytes.Length;
    }

    public void WriteString(string value)
    {
        var max = System.Text.Encoding.UTF8.GetMaxByteCount(value.Length);
        Ensure(max + 5);
        var count = System.Text.Encoding.UTF8.GetByteCount(value);
        WriteUVarint((ulong)count);
        _length += System.Text.Encoding.UTF8.GetBytes(value, _buffer.AsSpan(_length));
    }

    private void Ensure(int extra)
    {
        if (_length + extra <= _buffer.Length)
        {
            return;
        }
        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + extra));
        _buffer.AsSpan(0, _length).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }

    public void Dispose()
    {
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
        }
    }
}

/// <summary>Reads what <see cref="ByteWriter"/> wrote; throws <see cref="InvalidDataException"/> on truncation.</summary>
internal ref struct ByteReader(ReadOnlySpan<byte> data)
{
    private readonly ReadOnlySpan<byte> _data = data;
    private int _position;

    public readonly int Position => _position;

    public readonly bool End => _position >= _data.Length;

    public ulong ReadUVarint()
    {
        ulong result = 0;
        var shift = 0;
        while (true)
        {
            if (_position >= _data.Length)
            {
                throw new InvalidDataException("Truncated varint in block data.");
            }
            var b = _data[_position++];
            result |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80)
            {
                return result;
            }
            shift += 7;
            if (shift > 63)
            {
                throw new InvalidDataException("Varint longer than 64 bits in block data.");
            }
        }
    }

    public long ReadVarint()
    {
        var u = ReadUVarint();
        return (long)(u >> 1) ^ -(long)(u & 1);
    }

    public int ReadInt() => checked((int)ReadUVarint());

    public byte ReadByte()
    {
        if (_position >= _data.Length)
        {
            throw new InvalidDataException("Truncated block data.");
        }
        return _data[_position++];
    }

    public uint ReadUInt32()
    {
        var span = ReadBytes(4);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(span);
    }

    public ReadOnlySpan<byte> ReadBytes(int count)
    {
        if (count < 0 || _position + count > _data.Length)
        {
            throw new InvalidDataException("Truncated block data.");
        }
        var span = _data.Slice(_position, count);
        _position += count;
        return span;
    }

    public string ReadString()
    {
        var count = ReadInt();
        return System.Text.Encoding.UTF8.GetString(ReadBytes(count));
    }
}

/// <summary>
/// One zstd compressor and one pooled output buffer for many compressions: the compressor's own
/// <c>Wrap(src)</c> allocates a compress-bound array (about the input's size) per call, which for a block's
/// per-series chunks added up to as much garbage as the uncompressed columns (191 MB for a 384 MB head).
/// A returned span is valid until the next call.
/// </summary>
internal sealed class ReusingCompressor(int level) : IDisposable
{
    private readonly ZstdSharp.Compressor _compressor = new(level);
    private byte[] _output = ArrayPool<byte>.Shared.Rent(64 * 1024);

    public ReadOnlySpan<byte> Compress(ReadOnlySpan<byte> data)
    {
        var bound = ZstdSharp.Compressor.GetCompressBound(data.Length);
        if (_output.Length < bound)
        {
            ArrayPool<byte>.Shared.Return(_output);
            _output = ArrayPool<byte>.Shared.Rent(bound);
        }
        return _output.AsSpan(0, _compressor.Wrap(data, _output));
    }

    public void Dispose()
    {
        _compressor.Dispose();
        ArrayPool<byte>.Shared.Return(_output);
        _output = [];
    }
}

/// <summary>zstd helpers: one compressor per call keeps this thread-safe; blocks are written rarely.</summary>
internal static class Zstd
{
    public const int BlockLevel = 9;

    public static byte[] Compress(ReadOnlySpan<byte> data, int level = BlockLevel)
    {
        using var compressor = new ZstdSharp.Compressor(level);
        return compressor.Wrap(data).ToArray();
    }

    public static byte[] Decompress(ReadOnlySpan<byte> data)
    {
        using var decompressor = new ZstdSharp.Decompressor();
        return decompressor.Unwrap(data).ToArray();
    }
}
