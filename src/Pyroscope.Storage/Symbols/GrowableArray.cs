namespace Pyroscope.Storage.Symbols;

/// <summary>
/// An append-only column: a plain array plus a count, grown by doubling. One writer at a time (the head's
/// write lock). Concurrent readers are safe for rows below a count they took under that lock: a row is
/// written once before the count covers it and never again (<see cref="SetCount"/> only rolls back a
/// staged row at the end), and growth fills a new array completely before publishing it, so a reader
/// holding the old array or the new one sees the same rows. Readers should capture <see cref="RawArray"/>
/// once (see <see cref="SymbolSnapshot"/>) rather than index through a struct that may be mid-growth.
/// Columns whose rows are updated in place (SeriesIndex's series time spans and profile lists) are only
/// read under the lock.
/// </summary>
internal struct GrowableArray<T>
{
    private T[] _items;
    private int _count;

    public GrowableArray(int capacity)
    {
        _items = capacity == 0 ? [] : new T[capacity];
        _count = 0;
    }

    public GrowableArray(T[] items)
    {
        _items = items;
        _count = items.Length;
    }

    public readonly int Count => _count;

    public readonly T[] RawArray => _items ?? [];

    public readonly Span<T> Span => (_items ?? []).AsSpan(0, _count);

    public readonly ref T this[int index] => ref _items[index];

    public int Add(T item)
    {
        var items = _items;
        if (items is null || _count == items.Length)
        {
            items = Grow(Math.Max(16, _count * 2));
        }
        items[_count] = item;
        return _count++;
    }

    /// <summary>Makes sure index <c>Count</c> exists so callers can stage a candidate there before committing it.</summary>
    public void EnsureSpare(int extra = 1)
    {
        if (_items is null || _count + extra > _items.Length)
        {
            Grow(Math.Max(16, Math.Max(_count + extra, _count * 2)));
        }
    }

    private T[] Grow(int capacity)
    {
        var bigger = new T[capacity];
        if (_items is not null)
        {
            Array.Copy(_items, bigger, _count);
        }
        // Release: a reader that picks up the new array also sees the copied rows (matters on ARM).
        Volatile.Write(ref _items, bigger);
        return bigger;
    }

    public void SetCount(int count) => _count = count;

    public readonly long EstimatedBytes(int bytesPerItem) => (long)(_items?.Length ?? 0) * bytesPerItem;
}
