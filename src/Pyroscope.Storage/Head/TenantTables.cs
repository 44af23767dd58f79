using Pyroscope.Storage.Symbols;

namespace Pyroscope.Storage.Head;

/// <summary>
/// Sample columns: one row per (profile, distinct stack). Span ids are materialised only once one appears.
/// Read only under the head's lock (<see cref="SpanId"/> is resized without a publication barrier).
/// </summary>
internal sealed class SampleColumns
{
    public GrowableArray<int> StackId;
    public GrowableArray<long> Value;
    public ulong[]? SpanId;

    public SampleColumns(int capacity)
    {
        StackId = new GrowableArray<int>(capacity);
        Value = new GrowableArray<long>(capacity);
    }

    public SampleColumns(int[] stacks, long[] values, ulong[]? spans)
    {
        StackId = new GrowableArray<int>(stacks);
        Value = new GrowableArray<long>(values);
        SpanId = spans;
    }

    public int Count => StackId.Count;

    public void Add(int stackId, long value, ulong spanId)
    {
        var row = StackId.Add(stackId);
        Value.Add(value);
        if (spanId != 0 && SpanId is null)
        {
            SpanId = new ulong[Math.Max(StackId.RawArray.Length, 16)];
        }
        if (SpanId is not null)
        {
            if (row >= SpanId.Length)
            {
                Array.Resize(ref SpanId, Math.Max(StackId.RawArray.Length, row + 1));
            }
            SpanId[row] = spanId;
        }
    }

    public long EstimatedBytes() => StackId.EstimatedBytes(4) + Value.EstimatedBytes(8) + (SpanId?.Length ?? 0) * 8L;
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

    public long EstimatedBytes() => Count * (4L + 8 + 8 + 4 + 4 + 64);
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
