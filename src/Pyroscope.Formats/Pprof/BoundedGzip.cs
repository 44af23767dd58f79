using System.IO.Compression;
using Pyroscope.Model.Buffers;

namespace Pyroscope.Formats.Pprof;

/// <summary>
/// Gzip detection and decompression with a hard output cap, streamed into pooled memory: a gzip bomb costs
/// at most the cap, and the memory goes back when the caller disposes the result.
/// </summary>
public static class BoundedGzip
{
    public static bool IsGzip(ReadOnlySpan<byte> data) => data.Length >= 2 && data[0] == 0x1f && data[1] == 0x8b;

    /// <summary>
    /// <paramref name="data"/> itself when it is not gzip (checked against the cap too), else its decompressed
    /// bytes in <paramref name="owner"/>, which the caller disposes once it no longer reads them.
    /// </summary>
    public static ReadOnlyMemory<byte> MaybeDecompress(ReadOnlyMemory<byte> data, long maxBytes, string what, out PooledBytes? owner)
    {
        owner = null;
        if (!IsGzip(data.Span))
        {
            if (data.Length > maxBytes)
            {
                throw TooLarge(what, $"is {data.Length} bytes, more", maxBytes);
            }
            return data;
        }
        owner = Decompress(data, maxBytes, what);
        return owner.Memory;
    }

    public static PooledBytes Decompress(ReadOnlyMemory<byte> data, long maxBytes, string what)
    {
        using var gzip = new GZipStream(new ReadOnlyMemoryStream(data), CompressionMode.Decompress);
        PooledBytes result;
        try
        {
            result = ExpectedLength(data.Span) is { } expected
                ? PooledBytes.ReadExpected(gzip, maxBytes, expected)
                : PooledBytes.Read(gzip, maxBytes, (int)Math.Min(data.Length * 4L, int.MaxValue));
        }
        catch (InvalidDataException e)
        {
            throw new ProfileFormatException($"{what}: invalid gzip data: {e.Message}", e);
        }
        catch (PooledBytes.LimitExceededException)
        {
            throw TooLarge(what, "decompresses to more", maxBytes);
        }
        if (result.Length == 0 && data.Length > 0 && !IsCompleteGzip(data.Span))
        {
            result.Dispose();
            throw new ProfileFormatException($"{what}: truncated gzip stream ({data.Length} bytes)");
        }
        return result;
    }

    /// <summary>
    /// The decompressed length the gzip trailer states (ISIZE, of the last member), when deflate could produce it from
    /// this many bytes (at most ≈ 1 032 : 1); a forged trailer then costs at most what a real bomb of the same size would.
    /// </summary>
    private static long? ExpectedLength(ReadOnlySpan<byte> data)
    {
        if (!IsCompleteGzip(data))
        {
            return null;
        }
        long size = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(data[^4..]);
        return size > 0 && size <= data.Length * MaxDeflateRatio ? size : null;
    }

    private const long MaxDeflateRatio = 1032;

    private static ProfileTooLargeException TooLarge(string what, string actual, long maxBytes) =>
        new($"{what}: the profile {actual} than the limit of {maxBytes} bytes (max_profile_size_bytes)");

    // A gzip member ends with an 8-byte trailer; anything shorter than header + trailer is certainly cut off.
    private static bool IsCompleteGzip(ReadOnlySpan<byte> data) => data.Length >= 18;

    private sealed class ReadOnlyMemoryStream(ReadOnlyMemory<byte> memory) : Stream
    {
        private int _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => memory.Length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> destination)
        {
            var n = Math.Min(destination.Length, memory.Length - _position);
            memory.Span.Slice(_position, n).CopyTo(destination);
            _position += n;
            return n;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
