namespace Pyroscope.Storage.Symbols;

/// <summary>An append-only column: a plain array plus a count, grown by doubling. Not thread-safe.</summary>
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
        if (_items is null || _count == _items.Length)
        {
            Array.Resize(ref _items, Math.Max(16, _count * 2));
        }
        _items[_count] = item;
        return _count++;
    }

    /// <summary>Makes sure index <c>Count</c> exists so callers can stage a candidate there before committing it.</summary>
    public void EnsureSpare(int extra = 1)
    {
        if (_items is null || _count + extra > _items.Length)
        {
            Array.Resize(ref _items, Math.Max(16, Math.Max(_count + extra, _count * 2)));
        }
    }

    public void SetCount(int count) => _count = count;

    public readonly long EstimatedBytes(int bytesPerItem) => (long)(_items?.Length ?? 0) * bytesPerItem;
}
