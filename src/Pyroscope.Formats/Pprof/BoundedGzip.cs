using System.Buffers;
using System.IO.Compression;

namespace Pyroscope.Formats.Pprof;

/// <summary>Gzip detection and decompression with a hard output cap, so a gzip bomb costs at most the cap.</summary>
public static class BoundedGzip
{
    public static bool IsGzip(ReadOnlySpan<byte> data) => data.Length >= 2 && data[0] == 0x1f && data[1] == 0x8b;

    /// <summary>Returns <paramref name="data"/> itself when it is not gzip, else its decompressed bytes.</summary>
    public static ReadOnlyMemory<byte> MaybeDecompress(ReadOnlyMemory<byte> data, long maxBytes, string what) =>
        IsGzip(data.Span) ? Decompress(data, maxBytes, what) : data;

    public static byte[] Decompress(ReadOnlyMemory<byte> data, long maxBytes, string what)
    {
        using var input = new ReadOnlyMemoryStream(data);
        using var gzip = new GZipStream(input, CompressionMode.Decompress);
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Clamp(data.Length * 4L, 4096, Math.Min(maxBytes + 1, 1 << 24)));
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, Array.MaxLength));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                int read;
                try
                {
                    read = gzip.Read(buffer, length, (int)Math.Min(buffer.Length - length, maxBytes + 1 - length));
                }
                catch (InvalidDataException e)
                {
                    throw new ProfileFormatException($"{what}: invalid gzip data after {length} decompressed bytes: {e.Message}", e);
                }
                if (read == 0)
                {
                    if (length == 0 && data.Length > 0 && !IsCompleteGzip(data.Span))
                    {
                        throw new ProfileFormatException($"{what}: truncated gzip stream ({data.Length} bytes)");
                    }
                    return buffer.AsSpan(0, length).ToArray();
                }
                length += read;
                if (length > maxBytes)
                {
                    throw new ProfileTooLargeException(
                        $"{what}: decompressed size exceeds the limit of {maxBytes} bytes (max_profile_size_bytes / ingestion_body_limit_mb)");
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

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
