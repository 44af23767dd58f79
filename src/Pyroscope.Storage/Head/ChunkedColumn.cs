namespace Pyroscope.Storage.Head;

/// <summary>
/// An append-only column of a head's samples, in chunks of <see cref="ChunkRows"/> rows that never move once full.
/// A flat array grown by doubling would, for a head near max_head_bytes, briefly hold the old and the new array
/// (1.5× the column) and then keep up to twice what it uses: the head's memory would be bounded by luck. Here
/// memory follows the rows (the head's estimate is what it holds, plus at most one chunk), and a flushed head
/// leaves same-sized free blocks in the large-object heap that the next head's chunks fit. The first chunk starts
/// small and doubles up to the chunk size, so a head of a quiet tenant stays small.
/// One writer at a time (the head's write lock). Readers are safe for rows below a count they took under that lock:
/// a row is written before the count covers it, and a grown first chunk or chunk directory is filled completely
/// before it is published.
/// </summary>
internal sealed class ChunkedColumn<T>
{
    public const int ChunkBits = 16;
    public const int ChunkRows = 1 << ChunkBits;

    private readonly int _shift;
    private readonly int _mask;
    private T[][] _chunks;
    private int _chunkCount;
    private int _count;

    public ChunkedColumn(int initialRows)
    {
        _shift = ChunkBits;
        _mask = ChunkRows - 1;
        _chunks = [new T[Math.Clamp(initialRows, 16, ChunkRows)]];
        _chunkCount = 1;
    }

    /// <summary>A column over decoded rows (a block's): one chunk, indexed as a flat array.</summary>
    public ChunkedColumn(T[] rows)
    {
        _shift = 31;
        _mask = int.MaxValue;
        _chunks = [rows];
        _chunkCount = 1;
        _count = rows.Length;
    }

    public int Count => _count;

    public ref T this[int row] => ref Volatile.Read(ref _chunks)[row >> _shift][row & _mask];

    /// <summary>The rows from <paramref name="start"/> up to <paramref name="end"/> that lie in one chunk: iterate until <c>start</c> reaches <c>end</c>.</summary>
    public ReadOnlySpan<T> Run(int start, int end)
    {
        var chunk = Volatile.Read(ref _chunks)[start >> _shift];
        var offset = start & _mask;
        return chunk.AsSpan(offset, Math.Min(end - start, chunk.Length - offset));
    }

    public int Add(T value)
    {
        var row = _count;
        var chunkIndex = row >> _shift;
        var offset = row & _mask;
        var chunk = chunkIndex < _chunkCount ? _chunks[chunkIndex] : NewChunk();
        if (offset == chunk.Length)
        {
            chunk = GrowFirstChunk();
        }
        chunk[offset] = value;
        _count = row + 1;
        return row;
    }

    /// <summary>Bytes of the chunks allocated (what the column holds, not what it uses).</summary>
    public long EstimatedBytes(int bytesPerRow) =>
        ((long)_chunks[0].Length + (long)(_chunkCount - 1) * ChunkRows) * bytesPerRow + _chunks.Length * 8L;

    /// <summary>
    /// Gives this column's full-sized chunks to <see cref="HeadChunkPool{T}"/>. Only for a column nobody can reach any
    /// more (its owner's finalizer): a reader holding it would see the next head's rows.
    /// </summary>
    public void ReturnChunksToPool()
    {
        var chunks = _chunks;
        for (var i = 0; i < _chunkCount; i++)
        {
            HeadChunkPool<T>.Return(chunks[i]);
            chunks[i] = null!;
        }
        _chunkCount = 0;
    }

    private T[] NewChunk()
    {
        var chunk = HeadChunkPool<T>.Rent();
        var chunks = _chunks;
        if (_chunkCount == chunks.Length)
        {
            var bigger = new T[chunks.Length * 2][];
            Array.Copy(chunks, bigger, _chunkCount);
            bigger[_chunkCount] = chunk;
            Volatile.Write(ref _chunks, bigger);
        }
        else
        {
            chunks[_chunkCount] = chunk;
        }
        _chunkCount++;
        return chunk;
    }

    /// <summary>Only the first chunk is ever grown (doubling up to the chunk size); later chunks start full-sized.</summary>
    private T[] GrowFirstChunk()
    {
        var first = _chunks[0];
        var bigger = new T[Math.Min(first.Length * 2, ChunkRows)];
        Array.Copy(first, bigger, _count);
        Volatile.Write(ref _chunks[0], bigger);
        return bigger;
    }
}
