using System.Buffers;
using System.Runtime.CompilerServices;

namespace Pyroscope.Formats.Jfr;

/// <summary>An append-only column backed by <see cref="ArrayPool{T}"/>; return it with <see cref="Dispose"/>.</summary>
internal sealed class PooledBuffer<T> : IDisposable
{
    private T[] _items;

    public PooledBuffer(int initialCapacity = 256)
    {
        _items = ArrayPool<T>.Shared.Rent(initialCapacity);
    }

    public int Count { get; private set; }

    public Span<T> Span => _items.AsSpan(0, Count);

    public ref T this[int index] => ref _items[index];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(T item)
    {
        if (Count == _items.Length)
        {
            Grow();
        }
        _items[Count++] = item;
    }

    public void Clear() => Count = 0;

    private void Grow()
    {
        var bigger = ArrayPool<T>.Shared.Rent(_items.Length * 2);
        Array.Copy(_items, bigger, Count);
        ArrayPool<T>.Shared.Return(_items, RuntimeHelpers.IsReferenceOrContainsReferences<T>());
        _items = bigger;
    }

    public void Dispose()
    {
        if (_items.Length > 0)
        {
            ArrayPool<T>.Shared.Return(_items, RuntimeHelpers.IsReferenceOrContainsReferences<T>());
            _items = [];
            Count = 0;
        }
    }
}
