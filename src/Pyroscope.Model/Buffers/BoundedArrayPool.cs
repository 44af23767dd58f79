using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Pyroscope.Model.Buffers;

/// <summary>
/// Per-request arrays: up to <see cref="PooledBytes.MaxPooledLength"/> bytes from <see cref="ArrayPool{T}.Shared"/>,
/// larger ones from <see cref="LargeArrays{T}"/>, which keeps them within a process budget. The shared pool keeps
/// whatever it is handed, per thread and per core, so one gzip bomb's buffers or a few large profiles' columns would
/// otherwise stay in the process for good.
/// </summary>
public static class BoundedArrayPool<T>
{
    /// <summary>The longest array pooled: a power of two, so the pool never hands out a longer one for a length up to it.</summary>
    public static readonly int MaxPooledLength =
        (int)(BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, PooledBytes.MaxPooledLength / Math.Max(1, Unsafe.SizeOf<T>())) + 1) >> 1);

    public static T[] Rent(int length) =>
        length <= MaxPooledLength ? ArrayPool<T>.Shared.Rent(length) : LargeArrays<T>.Rent(length);

    /// <summary>Gives back what <see cref="Rent"/> took, to the pool it came from; empty arrays are left to the GC.</summary>
    public static void Return(T[] array)
    {
        if (array.Length > MaxPooledLength)
        {
            LargeArrays<T>.Return(array);
        }
        else if (array.Length > 0)
        {
            ArrayPool<T>.Shared.Return(array, RuntimeHelpers.IsReferenceOrContainsReferences<T>());
        }
    }
}
