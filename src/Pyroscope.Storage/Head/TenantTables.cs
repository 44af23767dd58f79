using Pyroscope.Storage.Symbols;

namespace Pyroscope.Storage.Head;

/// <summary>
/// Sample columns: one row per (profile, distinct stack), or per sample when samples carry span or trace ids. Span
/// and trace ids are materialised only once one appears, and only in the chunks of rows that have them
/// (<see cref="SparseColumn{T}"/>); read them only under the head's lock. Stack ids and values are chunked
/// (<see cref="ChunkedColumn{T}"/>): they are most of a head's memory.
/// </summary>
internal sealed class SampleColumns
{
    public readonly ChunkedColumn<int> StackId;
    public readonly ChunkedColumn<long> Value;
    public SparseColumn<ulong>? SpanId;
    public SparseColumn<UInt128>? TraceId;

    /// <summary>A head's growing columns: their full chunks go back to <see cref="HeadChunkPool"/> once unreachable.</summary>
    public SampleColumns(int capacity)
    {
        StackId = new ChunkedColumn<int>(capacity);
        Value = new ChunkedColumn<long>(capacity);
    }

    /// <summary>Columns over decoded rows (a block's): nothing to give back.</summary>
    public SampleColumns(int[] stacks, long[] values, ulong[]? spans, UInt128[]? traces = null)
    {
        StackId = new ChunkedColumn<int>(stacks);
        Value = new ChunkedColumn<long>(values);
        SpanId = spans is null ? null : new SparseColumn<ulong>(spans);
        TraceId = traces is null ? null : new SparseColumn<UInt128>(traces);
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// The GC is the lease: these columns are unreachable, so is every head, snapshot or query that read them; their
    /// chunks can be filled by the next head.
    /// </summary>
    ~SampleColumns()
    {
        StackId.ReturnChunksToPool();
        Value.ReturnChunksToPool();
    }

    public int Count => StackId.Count;

    public void Add(int stackId, long value, ulong spanId, UInt128 traceId = default)
    {
        var row = StackId.Add(stackId);
        Value.Add(value);
        if (spanId != 0)
        {
            (SpanId ??= new SparseColumn<ulong>()).Set(row, spanId);
        }
        if (traceId != 0)
        {
            (TraceId ??= new SparseColumn<UInt128>()).Set(row, traceId);
        }
    }

    /// <summary>The span id of a row (0: none).</summary>
    public ulong SpanOf(int row) => SpanId is { } spans ? spans[row] : 0;

    /// <summary>The trace id of a row (0: none).</summary>
    public UInt128 TraceOf(int row) => TraceId is { } traces ? traces[row] : 0;

    public long EstimatedBytes() =>
        StackId.EstimatedBytes(4) + Value.EstimatedBytes(8) + (SpanId?.EstimatedBytes(8) ?? 0) + (TraceId?.EstimatedBytes(16) ?? 0);
}

/// <summary>The profile table: one row per stored profile.</summary>
internal sealed class ProfileTable
{
    public GrowableArray<int> SeriesId = new(64);
    public GrowableArray<long> TimestampMs = new(64);
    public GrowableArray<string> ProfileId = new(64);
    public GrowableArray<long> Total = new(64);
    public GrowableArray<int> SampleStart = new(64);
    public GrowableArray<int> SampleCount = new(64);

    public int Count => SeriesId.Count;

    public int Add(int seriesId, long timestampMs, string profileId, long total, int sampleStart, int sampleCount)
    {
        SeriesId.Add(seriesId);
        TimestampMs.Add(timestampMs);
        ProfileId.Add(profileId);
        Total.Add(total);
        SampleStart.Add(sampleStart);
        return SampleCount.Add(sampleCount);
    }

    /// <summary>The columns, plus each row's profile id: a 36-character string (≈ 96 bytes) and its entry in the head's id set.</summary>
    public long EstimatedBytes() => Count * (4L + 8 + 8 + 4 + 4 + 8 + 96 + 40);
}

/// <summary>Gives the sample columns a profile's SampleStart refers to (global in a head, per series in a block).</summary>
internal interface ISampleProvider
{
    SampleColumns SamplesOf(int seriesId);
}

/// <summary>Everything stored for one tenant in one head or block.</summary>
internal sealed class TenantTables : ISampleProvider
{
    public TenantTables(SymbolTable symbols, SeriesIndex index, ProfileTable profiles, SampleColumns samples)
    {
        Symbols = symbols;
        Index = index;
        Profiles = profiles;
        Samples = samples;
    }

    public SymbolTable Symbols { get; }

    public SeriesIndex Index { get; }

    public ProfileTable Profiles { get; }

    public SampleColumns Samples { get; }

    public long MinTimeMs { get; set; } = long.MaxValue;

    public long MaxTimeMs { get; set; } = long.MinValue;

    public static TenantTables CreateWritable() =>
        new(SymbolTable.CreateWritable(), new SeriesIndex(), new ProfileTable(), new SampleColumns(4096));

    public SampleColumns SamplesOf(int seriesId) => Samples;

    public long EstimatedBytes() => Symbols.EstimatedBytes() + Index.EstimatedBytes() + Profiles.EstimatedBytes() + Samples.EstimatedBytes();
}
