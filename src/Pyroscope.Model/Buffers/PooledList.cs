using System.Buffers;
using System.Runtime.CompilerServices;

namespace Pyroscope.Model.Buffers;

/// <summary>
/// A growable column on <see cref="ArrayPool{T}.Shared"/> for per-request data (a parsed profile's rows), given back on
/// <see cref="Dispose"/>. A mutable struct: keep it in a field and use it in place, never copy it. Arrays over
/// <see cref="PooledBytes.MaxPooledLength"/> bytes are plain arrays left to the GC, as <see cref="PooledBytes"/> does: the
/// shared pool keeps what it is handed, per thread and per core, so a few large profiles' columns would stay for good.
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
        var bigger = Allocate(Math.Max(needed, Math.Max(16, (_items?.Length ?? 0) * 2)));
        if (_items is not null)
        {
            _items.AsSpan(0, _count).CopyTo(bigger);
            Release(_items);
        }
        _items = bigger;
    }

    public void Dispose()
    {
        if (_items is not null)
        {
            Release(_items);
            _items = null;
        }
        _count = 0;
    }

    /// <summary>A power of two, so the pool never hands out an array longer than this for a length up to it.</summary>
    private static readonly int MaxPooledItems = (int)System.Numerics.BitOperations.RoundUpToPowerOf2(
        (uint)Math.Max(16, PooledBytes.MaxPooledLength / Math.Max(1, Unsafe.SizeOf<T>())) + 1) >> 1;

    private static T[] Allocate(int length) =>
        length <= MaxPooledItems ? ArrayPool<T>.Shared.Rent(length)
        : RuntimeHelpers.IsReferenceOrContainsReferences<T>() ? new T[length] : GC.AllocateUninitializedArray<T>(length);

    private static void Release(T[] array)
    {
        // A rented array is never longer than the largest size rented: longer ones were allocated here.
        if (array.Length <= MaxPooledItems)
        {
            ArrayPool<T>.Shared.Return(array, RuntimeHelpers.IsReferenceOrContainsReferences<T>());
        }
    }

    private static void ThrowIndex(int index) => throw new ArgumentOutOfRangeException(nameof(index), index, "outside the list");
}
