using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Pyroscope.Storage.Head;

/// <summary>
/// Full-sized sample chunks (<see cref="ChunkedColumn{T}"/>) of heads that no longer exist, for the next heads to fill.
/// A head near <c>max_head_bytes</c> is mostly these chunks: without reuse every flush handed a head's worth of memory
/// back to the GC, which returned part of it to the OS, and the next head asked for it again, so resident memory swung
/// by most of a head. A chunk comes back only when the columns that own it are unreachable (their finalizer returns
/// it), so no query, encoder or snapshot can still be reading it; rows of a reused chunk are written before a count
/// covers them, as for a new one. Off (nothing kept) until an ingester sets <see cref="MaxBytes"/>.
/// </summary>
internal static class HeadChunkPool
{
    private static readonly List<Action> s_drains = [];
    private static long s_maxBytes;
    private static long s_pooledBytes;
    private static long s_lastRentMs = Environment.TickCount64;

    /// <summary>The most memory the pool keeps; chunks beyond it are left to the GC. 0 keeps none.</summary>
    public static long MaxBytes
    {
        get => Volatile.Read(ref s_maxBytes);
        set => Volatile.Write(ref s_maxBytes, Math.Max(0, value));
    }

    /// <summary>What the pool holds now.</summary>
    public static long PooledBytes => Interlocked.Read(ref s_pooledBytes);

    /// <summary>
    /// Lets the GC have every pooled chunk when no head has asked for one for <paramref name="unusedFor"/>: an ingester
    /// that went quiet after a busy hour should not keep a full head's memory for good.
    /// </summary>
    public static void DropIfUnused(TimeSpan unusedFor)
    {
        if (Environment.TickCount64 - Interlocked.Read(ref s_lastRentMs) < unusedFor.TotalMilliseconds)
        {
            return;
        }
        Action[] drains;
        lock (s_drains)
        {
            drains = [.. s_drains];
        }
        foreach (var drain in drains)
        {
            drain();
        }
    }

    internal static void Register(Action drain)
    {
        lock (s_drains)
        {
            s_drains.Add(drain);
        }
    }

    internal static void Rented() => Interlocked.Exchange(ref s_lastRentMs, Environment.TickCount64);

    internal static bool TryReserve(long bytes)
    {
        if (Interlocked.Add(ref s_pooledBytes, bytes) <= MaxBytes)
        {
            return true;
        }
        Interlocked.Add(ref s_pooledBytes, -bytes);
        return false;
    }

    internal static void Release(long bytes) => Interlocked.Add(ref s_pooledBytes, -bytes);
}

/// <summary>The chunks of one element type; see <see cref="HeadChunkPool"/>.</summary>
internal static class HeadChunkPool<T>
{
    private static readonly ConcurrentStack<T[]> s_chunks = new();

    // Registered when the pool of this element type first exists, so DropIfUnused reaches every type's chunks.
    static HeadChunkPool()
    {
        HeadChunkPool.Register(static () =>
        {
            while (s_chunks.TryPop(out _))
            {
                HeadChunkPool.Release(ChunkBytes);
            }
        });
    }

    private static long ChunkBytes => (long)ChunkedColumn<T>.ChunkRows * Unsafe.SizeOf<T>();

    public static T[] Rent()
    {
        HeadChunkPool.Rented();
        if (s_chunks.TryPop(out var chunk))
        {
            HeadChunkPool.Release(ChunkBytes);
            return chunk;
        }
        return new T[ChunkedColumn<T>.ChunkRows];
    }

    /// <summary>Keeps <paramref name="chunk"/> for a later head, unless the pool is full or the chunk is not full-sized.</summary>
    public static void Return(T[] chunk)
    {
        if (chunk.Length == ChunkedColumn<T>.ChunkRows && HeadChunkPool.TryReserve(ChunkBytes))
        {
            s_chunks.Push(chunk);
        }
    }
}
