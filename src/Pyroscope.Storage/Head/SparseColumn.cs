namespace Pyroscope.Storage.Head;

/// <summary>
/// An optional id column of a head's samples (span or trace ids), which few rows have: a chunk of
/// <see cref="ChunkedColumn{T}.ChunkRows"/> rows is allocated only once one of its rows gets a non-zero id, and rows
/// of chunks never allocated read as zero. One profile with a span id used to materialise a flat array as long as all
/// the head's sample rows, then doubled with every row after it: hundreds of MB of copies for a head near
/// max_head_bytes, for a handful of ids. One writer at a time (the head's write lock); read under that lock.
/// </summary>
internal sealed class SparseColumn<T>
    where T : struct, IEquatable<T>
{
    private readonly int _shift;
    private readonly int _mask;
    private T[]?[] _chunks;
    private int _allocated;

    public SparseColumn()
    {
        _shift = ChunkedColumn<T>.ChunkBits;
        _mask = ChunkedColumn<T>.ChunkRows - 1;
        _chunks = new T[]?[4];
    }

    /// <summary>A column over decoded rows (a block's): one chunk, indexed as a flat array.</summary>
    public SparseColumn(T[] rows)
    {
        _shift = 31;
        _mask = int.MaxValue;
        _chunks = [rows];
        _allocated = 1;
    }

    /// <summary>The id of <paramref name="row"/>; zero when it has none.</summary>
    public T this[int row]
    {
        get
        {
            var chunks = _chunks;
            var index = row >> _shift;
            if (index >= chunks.Length || chunks[index] is not { } chunk)
            {
                return default;
            }
            var offset = row & _mask;
            return offset < chunk.Length ? chunk[offset] : default;
        }
    }

    /// <summary>Sets the id of a newly appended row; zero needs nothing.</summary>
    public void Set(int row, T value)
    {
        if (value.Equals(default))
        {
            return;
        }
        var index = row >> _shift;
        if (index >= _chunks.Length)
        {
            var bigger = new T[]?[Math.Max(_chunks.Length * 2, index + 1)];
            Array.Copy(_chunks, bigger, _chunks.Length);
            _chunks = bigger;
        }
        if (_chunks[index] is not { } chunk)
        {
            chunk = new T[_mask + 1];
            _chunks[index] = chunk;
            _allocated++;
        }
        chunk[row & _mask] = value;
    }

    public long EstimatedBytes(int bytesPerRow) => _allocated * (long)(_mask + 1) * bytesPerRow + _chunks.Length * 8L;
}
