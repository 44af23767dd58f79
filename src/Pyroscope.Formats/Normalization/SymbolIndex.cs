using System.Buffers;

namespace Pyroscope.Formats.Normalization;

/// <summary>
/// pprof id → row: a pooled flat array when ids are dense (the usual case), a dictionary otherwise. A repeated id
/// resolves to its last row, as every reader of the profile (normaliser, head) does.
/// </summary>
internal struct SymbolIndex : IDisposable
{
    private int[]? _dense;
    private int _denseLength;
    private Dictionary<ulong, int>? _sparse;

    public delegate ulong IdOf<T>(in T row);

    public static SymbolIndex Of<T>(ReadOnlySpan<T> rows, IdOf<T> id)
    {
        ulong max = 0;
        foreach (ref readonly var row in rows)
        {
            max = Math.Max(max, id(row));
        }
        var index = new SymbolIndex();
        if (max <= (ulong)rows.Length * 4 + 1024)
        {
            index._denseLength = (int)max + 1;
            index._dense = ArrayPool<int>.Shared.Rent(index._denseLength);
            index._dense.AsSpan(0, index._denseLength).Fill(-1);
            for (var i = 0; i < rows.Length; i++)
            {
                index._dense[id(rows[i])] = i;
            }
        }
        else
        {
            index._sparse = new Dictionary<ulong, int>(rows.Length);
            for (var i = 0; i < rows.Length; i++)
            {
                index._sparse[id(rows[i])] = i;
            }
        }
        return index;
    }

    /// <summary>The row of <paramref name="id"/>, or -1.</summary>
    public readonly int Find(ulong id)
    {
        if (_sparse is not null)
        {
            return _sparse.TryGetValue(id, out var row) ? row : -1;
        }
        return id < (ulong)_denseLength ? _dense![id] : -1;
    }

    public void Dispose()
    {
        if (_dense is not null)
        {
            ArrayPool<int>.Shared.Return(_dense);
            _dense = null;
        }
        _denseLength = 0;
        _sparse = null;
    }
}
