using Pyroscope.Model.Buffers;

namespace Pyroscope.Model.Ingest;

public struct PprofValueType
{
    public long Type;
    public long Unit;
}

public struct PprofMapping
{
    public ulong Id;
    public ulong MemoryStart;
    public ulong MemoryLimit;
    public ulong FileOffset;
    public long Filename;
    public long BuildId;
    public bool HasFunctions;
    public bool HasFilenames;
    public bool HasLineNumbers;
    public bool HasInlineFrames;
}

public struct PprofFunction
{
    public ulong Id;
    public long Name;
    public long SystemName;
    public long Filename;
    public long StartLine;
}

/// <summary>A location; its lines are <see cref="PprofProfile.Lines"/>[LineStart .. LineStart + LineCount).</summary>
public struct PprofLocation
{
    public ulong Id;
    public ulong MappingId;
    public ulong Address;
    public int LineStart;
    public int LineCount;
    public bool IsFolded;
}

public struct PprofLine
{
    public ulong FunctionId;
    public long Line;
    public long Column;
}

public struct PprofLabel
{
    public long Key;
    public long Str;
    public long Num;
    public long NumUnit;
}

/// <summary>A sample: its location ids, values and labels are ranges of the profile's flat columns.</summary>
public struct PprofSample
{
    public int LocationStart;
    public int LocationCount;
    public int ValueStart;
    public int ValueCount;
    public int LabelStart;
    public int LabelCount;
}

/// <summary>
/// A pprof profile as flat columns over pooled arrays, read in one pass from the received bytes (no object per sample,
/// location or string). What the write path works on from the distributor to the head; disposing it gives the memory
/// back, including the decompressed bytes its strings point into.
/// </summary>
public sealed class PprofProfile : IDisposable
{
    private IDisposable? _owner;

    public PprofProfile(ReadOnlyMemory<byte> bytes, IDisposable? owner)
    {
        Bytes = bytes;
        _owner = owner;
        Strings = new PprofStrings(bytes);
    }

    /// <summary>The encoded profile the columns were read from (decompressed).</summary>
    public ReadOnlyMemory<byte> Bytes { get; private set; }

    public PprofStrings Strings { get; }

    public PooledList<PprofValueType> SampleTypes;
    public PooledList<PprofSample> Samples;
    public PooledList<ulong> SampleLocationIds;
    public PooledList<long> SampleValues;
    public PooledList<PprofLabel> SampleLabels;
    public PooledList<PprofMapping> Mappings;
    public PooledList<PprofLocation> Locations;
    public PooledList<PprofLine> Lines;
    public PooledList<PprofFunction> Functions;
    public PooledList<long> Comments;

    public long DropFrames;
    public long KeepFrames;
    public long TimeNanos;
    public long DurationNanos;
    public PprofValueType? PeriodType;
    public long Period;
    public long DefaultSampleType;

    public ReadOnlySpan<ulong> LocationIdsOf(in PprofSample sample) => SampleLocationIds.Span.Slice(sample.LocationStart, sample.LocationCount);

    public ReadOnlySpan<long> ValuesOf(in PprofSample sample) => SampleValues.Span.Slice(sample.ValueStart, sample.ValueCount);

    public ReadOnlySpan<PprofLabel> LabelsOf(in PprofSample sample) => SampleLabels.Span.Slice(sample.LabelStart, sample.LabelCount);

    public ReadOnlySpan<PprofLine> LinesOf(in PprofLocation location) => Lines.Span.Slice(location.LineStart, location.LineCount);

    public void Dispose()
    {
        Strings.Dispose();
        SampleTypes.Dispose();
        Samples.Dispose();
        SampleLocationIds.Dispose();
        SampleValues.Dispose();
        SampleLabels.Dispose();
        Mappings.Dispose();
        Locations.Dispose();
        Lines.Dispose();
        Functions.Dispose();
        Comments.Dispose();
        Bytes = default;
        _owner?.Dispose();
        _owner = null;
    }
}
