using System.Numerics;
using System.Runtime.CompilerServices;

namespace Pyroscope.Model.Buffers;

/// <summary>
/// Per-request arrays above <see cref="PooledBytes.MaxPooledLength"/> bytes, kept between requests up to
/// <see cref="BudgetBytes"/> for the whole process. Without them a 4 MB eBPF push allocated ≈ 57 MB of fresh
/// large-object memory (its decompressed bytes and its columns, each grown by doubling), and read + normalise ran
/// ≈ 30 % slower on page faults and copies. The shared pool is no place for them: it keeps whatever it is handed per
/// thread and per core, so a gzip bomb's buffers would stay for good. Here an array is kept only within the budget,
/// exactly as long as it was rented (a bound stays a bound), and one left unused for <see cref="IdleBeforeDrop"/> is
/// given back to the GC at its next full collection.
/// </summary>
public static class LargeArrays
{
    /// <summary>What all element types' kept arrays may take together.</summary>
    public const long BudgetBytes = 128L * 1024 * 1024;

    public static readonly TimeSpan IdleBeforeDrop = TimeSpan.FromSeconds(30);

    private static long s_keptBytes;

    /// <summary>Bytes kept now, across element types.</summary>
    public static long KeptBytes => Interlocked.Read(ref s_keptBytes);

    internal static bool TryKeep(long bytes)
    {
        while (true)
        {
            var kept = Interlocked.Read(ref s_keptBytes);
            if (kept + bytes > BudgetBytes)
            {
                return false;
            }
            if (Interlocked.CompareExchange(ref s_keptBytes, kept + bytes, kept) == kept)
            {
                return true;
            }
        }
    }

    internal static void Released(long bytes) => Interlocked.Add(ref s_keptBytes, -bytes);
}

/// <summary>The kept arrays of one element type (none for types holding references); see <see cref="LargeArrays"/>.</summary>
public static class LargeArrays<T>
{
    // Bucket b holds arrays of length [2^b, 2^(b+1)).
    private static readonly List<(T[] Array, long ReturnedMs)>[] s_buckets = NewBuckets();
    private static readonly Lock s_lock = new();

    static LargeArrays() => Gen2Callback.Register(() =>
    {
        DropIdle(Environment.TickCount64, (long)LargeArrays.IdleBeforeDrop.TotalMilliseconds);
        return true;
    });

    /// <summary>A kept array of at least <paramref name="length"/> and at most twice it, else a new one of exactly that length.</summary>
    public static T[] Rent(int length)
    {
        if (!RuntimeHelpers.IsReferenceOrContainsReferences<T>())
        {
            var bucket = BitOperations.Log2((uint)length);
            lock (s_lock)
            {
                for (var b = bucket; b <= bucket + 1 && b < s_buckets.Length; b++)
                {
                    if (TakeFitting(s_buckets[b], length) is { } kept)
                    {
                        return kept;
                    }
                }
            }
            return GC.AllocateUninitializedArray<T>(length);
        }
        return new T[length];
    }

    /// <summary>Keeps <paramref name="array"/> for a later <see cref="Rent"/> if the process budget has room for it.</summary>
    public static void Return(T[] array)
    {
        if (RuntimeHelpers.IsReferenceOrContainsReferences<T>() || array.Length == 0 || !LargeArrays.TryKeep(BytesOf(array)))
        {
            return;
        }
        lock (s_lock)
        {
            s_buckets[BitOperations.Log2((uint)array.Length)].Add((array, Environment.TickCount64));
        }
    }

    /// <summary>Lets the GC have the arrays returned more than <paramref name="idleMs"/> before <paramref name="nowMs"/>.</summary>
    internal static void DropIdle(long nowMs, long idleMs)
    {
        lock (s_lock)
        {
            foreach (var bucket in s_buckets)
            {
                for (var i = bucket.Count - 1; i >= 0; i--)
                {
                    if (nowMs - bucket[i].ReturnedMs >= idleMs)
                    {
                        LargeArrays.Released(BytesOf(bucket[i].Array));
                        bucket.RemoveAt(i);
                    }
                }
            }
        }
    }

    private static T[]? TakeFitting(List<(T[] Array, long ReturnedMs)> bucket, int length)
    {
        var best = -1;
        for (var i = 0; i < bucket.Count; i++)
        {
            var candidate = bucket[i].Array.Length;
            if (candidate >= length && candidate / 2 <= length && (best < 0 || candidate < bucket[best].Array.Length))
            {
                best = i;
            }
        }
        if (best < 0)
        {
            return null;
        }
        var array = bucket[best].Array;
        bucket.RemoveAt(best);
        LargeArrays.Released(BytesOf(array));
        return array;
    }

    private static long BytesOf(T[] array) => (long)array.Length * Unsafe.SizeOf<T>();

    private static List<(T[] Array, long ReturnedMs)>[] NewBuckets()
    {
        var buckets = new List<(T[], long)>[32];
        for (var i = 0; i < buckets.Length; i++)
        {
            buckets[i] = [];
        }
        return buckets;
    }
}

/// <summary>Calls back after collections until the callback returns false (the runtime's own pools trim the same way).</summary>
internal sealed class Gen2Callback
{
    private readonly Func<bool> _callback;

    private Gen2Callback(Func<bool> callback) => _callback = callback;

    // Unreachable from the start: its finalizer runs after a collection and re-registers it; once it has been promoted
    // to generation 2, that is after each full collection.
    public static void Register(Func<bool> callback) => _ = new Gen2Callback(callback);

    ~Gen2Callback()
    {
        try
        {
            if (!_callback())
            {
                return;
            }
        }
        catch
        {
            // A trim that failed must not take the finalizer thread down; the next collection tries again.
        }
        GC.ReRegisterForFinalize(this);
    }
}
