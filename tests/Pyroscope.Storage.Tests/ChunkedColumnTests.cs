using Pyroscope.Storage.Head;

namespace Pyroscope.Storage.Tests;

/// <summary>The head's sample columns: rows keep their place across chunks, runs never cross a chunk, memory follows rows.</summary>
public sealed class ChunkedColumnTests
{
    [Fact]
    public void Rows_read_back_across_first_chunk_growth_and_later_chunks_and_runs_stop_at_chunk_ends()
    {
        const int rows = 3 * ChunkedColumn<long>.ChunkRows + 123;
        var column = new ChunkedColumn<long>(16);
        for (var i = 0; i < rows; i++)
        {
            Assert.Equal(i, column.Add(i * 7L));
        }
        Assert.Equal(rows, column.Count);
        for (var i = 0; i < rows; i += 997)
        {
            Assert.Equal(i * 7L, column[i]);
        }

        // A range across two chunk boundaries comes back as three runs, in order, each inside one chunk.
        var start = ChunkedColumn<long>.ChunkRows - 5;
        var end = 2 * ChunkedColumn<long>.ChunkRows + 5;
        var lengths = new List<int>();
        for (var at = start; at < end;)
        {
            var run = column.Run(at, end);
            for (var i = 0; i < run.Length; i++)
            {
                Assert.Equal((at + i) * 7L, run[i]);
            }
            lengths.Add(run.Length);
            at += run.Length;
        }
        Assert.Equal([5, ChunkedColumn<long>.ChunkRows, 5], lengths);
    }

    [Fact]
    public void Memory_follows_the_rows_in_whole_chunks_and_a_small_column_stays_small()
    {
        var small = new ChunkedColumn<int>(16);
        for (var i = 0; i < 100; i++)
        {
            small.Add(i);
        }
        // The first chunk doubles from 16 rows: 128 rows of 4 bytes, plus the chunk directory.
        Assert.True(small.EstimatedBytes(4) < 1024, $"{small.EstimatedBytes(4)} bytes for 100 rows");

        var large = new ChunkedColumn<int>(16);
        const int rows = 5 * ChunkedColumn<int>.ChunkRows + 1;
        for (var i = 0; i < rows; i++)
        {
            large.Add(i);
        }
        // Six chunks for five and a bit chunks of rows: never the doubled capacity a flat array would hold.
        var chunkBytes = ChunkedColumn<int>.ChunkRows * 4L;
        Assert.InRange(large.EstimatedBytes(4), 6 * chunkBytes, 6 * chunkBytes + 1024);
    }

    [Fact]
    public void A_column_over_decoded_rows_reads_them_as_one_run()
    {
        var rows = Enumerable.Range(0, 200_000).Select(i => (long)i).ToArray();
        var column = new ChunkedColumn<long>(rows);
        Assert.Equal(rows.Length, column.Count);
        Assert.Equal(199_999L, column[199_999]);
        Assert.Equal(rows.Length - 10, column.Run(10, rows.Length).Length);
    }

    [Fact]
    public void Span_and_trace_ids_of_a_few_rows_cost_only_the_chunks_that_hold_them()
    {
        const int rows = 4 * ChunkedColumn<int>.ChunkRows + 10;
        var columns = new SampleColumns(16);
        var withSpan = ChunkedColumn<int>.ChunkRows * 3 + 7;
        for (var i = 0; i < rows; i++)
        {
            columns.Add(i, 1, i == withSpan ? 0xabcUL : 0, i == withSpan ? (UInt128)0xdef : 0);
        }
        Assert.Equal(0xabcUL, columns.SpanOf(withSpan));
        Assert.Equal((UInt128)0xdef, columns.TraceOf(withSpan));
        Assert.Equal(0UL, columns.SpanOf(withSpan - 1));
        Assert.Equal(0UL, columns.SpanOf(0));
        Assert.Equal(0UL, columns.SpanOf(rows - 1));
        Assert.Equal((UInt128)0, columns.TraceOf(rows - 1));
        // One chunk of ids each, not columns as long as all the rows (a flat column would hold ≥ 4 chunks of ids).
        var spanChunk = ChunkedColumn<int>.ChunkRows * 8L;
        var traceChunk = ChunkedColumn<int>.ChunkRows * 16L;
        Assert.InRange(columns.SpanId!.EstimatedBytes(8), spanChunk, spanChunk + 1024);
        Assert.InRange(columns.TraceId!.EstimatedBytes(16), traceChunk, traceChunk + 1024);

        // Without any id the columns are never made.
        var plain = new SampleColumns(16);
        plain.Add(1, 1, 0);
        Assert.Null(plain.SpanId);
        Assert.Null(plain.TraceId);
    }
}
