using System.Runtime.CompilerServices;
using Pyroscope.Storage.Head;

namespace Pyroscope.Storage.Tests;

/// <summary>The pool is one per process: these tests run alone, so no other test's heads rent or return meanwhile.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HeadChunkPoolCollection
{
    public const string Name = "head chunk pool";
}

/// <summary>
/// Sample chunks of a head that nobody can reach any more are filled by the next head; a head still held (by a query,
/// a snapshot, an encoder) keeps its chunks.
/// </summary>
[Collection(HeadChunkPoolCollection.Name)]
public sealed class HeadChunkPoolTests : IDisposable
{
    private const int Chunk = ChunkedColumn<long>.ChunkRows;
    private const long ChunkPairBytes = Chunk * (4L + 8L); // a stack-id chunk and a value chunk
    private readonly long _maxBefore = HeadChunkPool.MaxBytes;

    public HeadChunkPoolTests()
    {
        TenantHead.ReuseSampleChunksUpTo(1L << 30);
        CollectGarbage(); // dead columns of earlier tests go in now, not in the middle of a test
    }

    [Fact]
    public void The_chunks_of_unreachable_columns_are_reused_and_the_new_rows_read_back_exactly()
    {
        var filled = FillAndDrop(3 * Chunk + 10, stack: 7, value: 70);
        CollectGarbage();
        // The first chunk grew to full size too: four full chunks of each column.
        Assert.Equal(filled + 4 * ChunkPairBytes, HeadChunkPool.PooledBytes);

        var before = HeadChunkPool.PooledBytes;
        var next = new SampleColumns(16);
        for (var i = 0; i < Chunk + 5; i++)
        {
            next.Add(i, i * 3L, 0);
        }
        // The second chunk of each column came from the pool (the first starts small and grows by copying).
        Assert.Equal(before - ChunkPairBytes, HeadChunkPool.PooledBytes);
        Assert.Equal(Chunk + 5, next.Count);
        for (var i = 0; i < next.Count; i++)
        {
            Assert.True(next.StackId[i] == i && next.Value[i] == i * 3L, $"row {i}: stack {next.StackId[i]}, value {next.Value[i]}");
        }
        GC.KeepAlive(next);
    }

    [Fact]
    public void Columns_still_held_keep_their_chunks()
    {
        var held = Fill(2 * Chunk, stack: 1, value: 2);
        var before = HeadChunkPool.PooledBytes;
        CollectGarbage();
        Assert.Equal(before, HeadChunkPool.PooledBytes);
        for (var i = 0; i < held.Count; i += 4099)
        {
            Assert.Equal((1, 2L), (held.StackId[i], held.Value[i]));
        }
        GC.KeepAlive(held);
    }

    [Fact]
    public void Nothing_is_kept_beyond_the_limit_or_when_reuse_is_off()
    {
        TenantHead.ReuseSampleChunksUpTo(0);
        var filled = FillAndDrop(2 * Chunk, stack: 1, value: 1);
        CollectGarbage();
        Assert.Equal(filled, HeadChunkPool.PooledBytes);

        var limit = HeadChunkPool.PooledBytes + ChunkPairBytes;
        TenantHead.ReuseSampleChunksUpTo(limit);
        FillAndDrop(4 * Chunk, stack: 1, value: 1);
        CollectGarbage();
        Assert.True(HeadChunkPool.PooledBytes <= limit, $"pool holds {HeadChunkPool.PooledBytes} bytes, limit {limit}");
    }

    [Fact]
    public void Chunks_nobody_asked_for_are_dropped_after_a_while()
    {
        FillAndDrop(2 * Chunk, stack: 1, value: 1);
        CollectGarbage();
        Assert.True(HeadChunkPool.PooledBytes >= 2 * ChunkPairBytes, $"pool holds {HeadChunkPool.PooledBytes} bytes");

        // Asked for just now (by the fill above): kept.
        var held = HeadChunkPool.PooledBytes;
        TenantHead.DropSampleChunksUnusedFor(TimeSpan.FromMinutes(5));
        Assert.Equal(held, HeadChunkPool.PooledBytes);

        TenantHead.DropSampleChunksUnusedFor(TimeSpan.Zero);
        Assert.Equal(0, HeadChunkPool.PooledBytes);
    }

    public void Dispose() => TenantHead.ReuseSampleChunksUpTo(_maxBefore);

    /// <summary>Fills columns and lets them go; returns what the pool held once they were filled (some chunks came from it).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long FillAndDrop(int rows, int stack, long value)
    {
        Fill(rows, stack, value);
        return HeadChunkPool.PooledBytes;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static SampleColumns Fill(int rows, int stack, long value)
    {
        var columns = new SampleColumns(16);
        for (var i = 0; i < rows; i++)
        {
            columns.Add(stack, value, 0);
        }
        return columns;
    }

    private static void CollectGarbage()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }
}
