using System.Buffers;
using System.Runtime.CompilerServices;

namespace Pyroscope.Model.Buffers;

/// <summary>
/// A growable column on <see cref="ArrayPool{T}.Shared"/> for per-request data (a parsed profile's rows), given back on
/// <see cref="Dispose"/>. A mutable struct: keep it in a field and use it in place, never copy it. Large columns are
/// plain arrays (<see cref="BoundedArrayPool{T}"/>).
/// </summary>
public struct PooledList<T>
{
    private T[]? _items;
    private int _count;

    public readonly int Count => _count;

    public readonly Span<T> Span => _items is null ? [] : _items.AsSpan(0, _count);

    public readonly ref T this[int index]
    {
        get
        {
            if ((uint)index >= (uint)_count)
            {
                ThrowIndex(index);
            }
            return ref _items![index];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref T Add()
    {
        if (_items is null || _count == _items.Length)
        {
            Grow(_count + 1);
        }
        return ref _items![_count++];
    }

    public void Add(T item) => Add() = item;

    /// <summary>Makes room for <paramref name="extra"/> more rows without changing the count.</summary>
    public void Reserve(int extra)
    {
        if (_items is null || _count + extra > _items.Length)
        {
            Grow(_count + extra);
        }
    }

    public void Clear() => _count = 0;

    /// <summary>Drops rows from <paramref name="count"/> on.</summary>
    public void Truncate(int count) => _count = Math.Min(_count, count);

    private void Grow(int needed)
    {
        var bigger = BoundedArrayPool<T>.Rent(Math.Max(needed, Math.Max(16, (_items?.Length ?? 0) * 2)));
        if (_items is not null)
        {
            _items.AsSpan(0, _count).CopyTo(bigger);
            BoundedArrayPool<T>.Return(_items);
        }
        _items = bigger;
    }

    public void Dispose()
    {
        if (_items is not null)
        {
            BoundedArrayPool<T>.Return(_items);
            _items = null;
        }
        _count = 0;
    }

    private static void ThrowIndex(int index) => throw new ArgumentOutOfRangeException(nameof(index), index, "outside the list");
}
