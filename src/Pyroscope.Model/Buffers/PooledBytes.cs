using System.Buffers;

namespace Pyroscope.Model.Buffers;

/// <summary>
/// A byte buffer that grows while a stream is read into it, up to a hard cap, and gives its memory back on
/// <see cref="Dispose"/>. Small buffers come from <see cref="ArrayPool{T}.Shared"/>, larger ones from
/// <see cref="LargeArrays{T}"/> (<see cref="BoundedArrayPool{T}"/>), which keeps them only within a process budget:
/// one gzip bomb's 256 MB buffers would otherwise stay in the process for good.
/// </summary>
public sealed class PooledBytes : IDisposable
{
    /// <summary>Largest array taken from (and returned to) the shared pool.</summary>
    public const int MaxPooledLength = 1024 * 1024;

    private byte[] _array;

    private PooledBytes(int capacity)
    {
        _array = BoundedArrayPool<byte>.Rent(Math.Max(capacity, 256));
    }

    public int Length { get; private set; }

    public ReadOnlyMemory<byte> Memory => _array.AsMemory(0, Length);

    public ReadOnlySpan<byte> Span => _array.AsSpan(0, Length);

    /// <summary>The backing array (valid up to <see cref="Length"/>) for APIs that take an array and offset.</summary>
    public byte[] Array => _array;

    public static PooledBytes Empty() => new(0);

    /// <summary>Reads <paramref name="source"/> to its end; more than <paramref name="limit"/> bytes throws <see cref="LimitExceededException"/>.</summary>
    public static async Task<PooledBytes> ReadAsync(Stream source, long limit, int sizeHint, CancellationToken cancellationToken)
    {
        var buffer = new PooledBytes(InitialCapacity(limit, sizeHint));
        try
        {
            while (true)
            {
                buffer.EnsureRoom(limit);
                var read = await source.ReadAsync(buffer._array.AsMemory(buffer.Length), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return buffer;
                }
                buffer.Advance(read, limit);
            }
        }
        catch
        {
            buffer.Dispose();
            throw;
        }
    }

    /// <summary>Synchronous <see cref="ReadAsync"/>, for in-memory sources such as a decompressing stream over a buffer.</summary>
    public static PooledBytes Read(Stream source, long limit, int sizeHint) => ReadInto(new PooledBytes(InitialCapacity(limit, sizeHint)), source, limit);

    /// <summary>
    /// <see cref="Read"/> of a source that says how long it is (a gzip trailer): the buffer is sized for that at once,
    /// up to the limit, instead of growing from <see cref="MaxPooledLength"/> by copies. The caller vouches that the
    /// length is plausible for the input it has; a wrong one only costs growth or room.
    /// </summary>
    public static PooledBytes ReadExpected(Stream source, long limit, long expectedLength) =>
        // One byte more than expected: reading the end then needs no growth.
        ReadInto(new PooledBytes((int)Math.Clamp(Math.Min(expectedLength, limit) + 1, 4096, System.Array.MaxLength)), source, limit);

    private static PooledBytes ReadInto(PooledBytes buffer, Stream source, long limit)
    {
        try
        {
            while (true)
            {
                buffer.EnsureRoom(limit);
                var read = source.Read(buffer._array, buffer.Length, buffer._array.Length - buffer.Length);
                if (read == 0)
                {
                    return buffer;
                }
                buffer.Advance(read, limit);
            }
        }
        catch
        {
            buffer.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        var array = _array;
        _array = [];
        Length = 0;
        BoundedArrayPool<byte>.Return(array);
    }

    private static int InitialCapacity(long limit, int sizeHint) =>
        (int)Math.Clamp(Math.Min(sizeHint, limit) + 1, 4096, Math.Max(4096, Math.Min(limit, MaxPooledLength - 1) + 1));

    private void Advance(int read, long limit)
    {
        Length += read;
        if (Length > limit)
        {
            throw new LimitExceededException(limit);
        }
    }

    /// <summary>Doubles the buffer when full; one byte past the limit is enough to detect an oversized source.</summary>
    private void EnsureRoom(long limit)
    {
        if (Length < _array.Length)
        {
            return;
        }
        var size = (int)Math.Min(Math.Min((long)_array.Length * 2, limit == long.MaxValue ? long.MaxValue : limit + 1), System.Array.MaxLength);
        if (size <= _array.Length)
        {
            throw new LimitExceededException(limit);
        }
        var bigger = BoundedArrayPool<byte>.Rent(size);
        _array.AsSpan(0, Length).CopyTo(bigger);
        BoundedArrayPool<byte>.Return(_array);
        _array = bigger;
    }

    /// <summary>The source had more bytes than the cap allowed.</summary>
    public sealed class LimitExceededException(long limit) : IOException($"more than {limit} bytes")
    {
        public long Limit { get; } = limit;
    }
}
