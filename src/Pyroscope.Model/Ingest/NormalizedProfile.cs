using Pyroscope.Model.Buffers;

namespace Pyroscope.Model.Ingest;

/// <summary>
/// A distinct stack of a normalised profile with its sample-level labels (span_id, trace_id): locations are
/// <see cref="NormalizedProfile.RunLocations"/>[LocationStart ..+ LocationCount), leaf first, already cut to the stack
/// depth limit; labels are <see cref="NormalizedProfile.RunLabels"/>[LabelStart ..+ LabelCount).
/// </summary>
public struct NormalizedRun
{
    public int LocationStart;
    public int LocationCount;
    public int LabelStart;
    public int LabelCount;
}

/// <summary>
/// One received profile after validation and normalisation, as the head takes it: the source columns (strings possibly
/// rewritten: truncated, Go shapes dropped), every reference resolved to a row index (a location's mapping, a line's
/// function, after merges), its distinct stacks (<see cref="Runs"/>) and its series — one per (pprof label set × sample
/// type with a non-zero value), each a list of (run, value). Nothing is copied per series: they all share the source's
/// symbols, so the head interns each symbol once per push. Owns <see cref="Source"/>.
/// </summary>
public sealed class NormalizedProfile : IDisposable
{
    public NormalizedProfile(PprofProfile source) => Source = source;

    public PprofProfile Source { get; }

    /// <summary>Per location row: its mapping row, or -1.</summary>
    public PooledList<int> LocationMapping;

    /// <summary>Per line row (<see cref="PprofProfile.Lines"/>): its function row.</summary>
    public PooledList<int> LineFunction;

    public PooledList<NormalizedRun> Runs;

    /// <summary>Location rows of every run, leaf first.</summary>
    public PooledList<int> RunLocations;

    /// <summary>Sample-level labels of every run (string-table indices).</summary>
    public PooledList<PprofLabel> RunLabels;

    /// <summary>The string-table index labels use for span ids ("span_id"; profile_id is renamed to it), or -1.</summary>
    public long SpanIdKey { get; set; } = -1;

    /// <summary>The string-table index labels use for trace ids ("trace_id"), or -1.</summary>
    public long TraceIdKey { get; set; } = -1;

    /// <summary>Per sample row of the source: its pprof label set (series group), for writing series out as pprof.</summary>
    public PooledList<int> SampleGroup;

    /// <summary>
    /// Whether the series, written out as pprof, share the source's whole tables (the usual case) or each carry only
    /// their group's symbols (a profile that splits into so many series that sharing would exceed the expansion budget).
    /// </summary>
    public bool SharedSymbols { get; set; } = true;

    /// <summary>The stack depth limit the runs were cut to (0: none).</summary>
    public int MaxStackDepth { get; set; }

    public List<NormalizedSeries> Series { get; } = [];

    public ReadOnlySpan<int> LocationsOf(in NormalizedRun run) => RunLocations.Span.Slice(run.LocationStart, run.LocationCount);

    public ReadOnlySpan<PprofLabel> LabelsOf(in NormalizedRun run) => RunLabels.Span.Slice(run.LabelStart, run.LabelCount);

    /// <summary>Gives back what normalisation built, leaving <see cref="Source"/> to its owner (normalisation failed).</summary>
    public void DisposeExceptSource()
    {
        foreach (var series in Series)
        {
            series.Dispose();
        }
        Series.Clear();
        LocationMapping.Dispose();
        LineFunction.Dispose();
        Runs.Dispose();
        RunLocations.Dispose();
        RunLabels.Dispose();
        SampleGroup.Dispose();
    }

    public void Dispose()
    {
        DisposeExceptSource();
        Source.Dispose();
    }
}

/// <summary>One series of a <see cref="NormalizedProfile"/>: labels, id, time and its samples as (run, value).</summary>
public sealed class NormalizedSeries(LabelSet labels, string profileId, long timeNanos, int group, int sampleType) : IDisposable
{
    public LabelSet Labels { get; } = labels;

    /// <summary>Unique per series; derived from the push's id seed, so a replay or a replica gets the same one.</summary>
    public string ProfileId { get; } = profileId;

    public long TimeNanos { get; } = timeNanos;

    /// <summary>Which pprof label set of the source this series is (series of one group share their samples' stacks).</summary>
    public int Group { get; } = group;

    /// <summary>Which sample type (value index) of the source this series holds.</summary>
    public int SampleType { get; } = sampleType;

    public PooledList<int> SampleRuns;

    /// <summary>Per sample: its value (non-zero; identical runs already summed, saturating).</summary>
    public PooledList<long> SampleValues;

    public int SampleCount => SampleRuns.Count;

    public void Dispose()
    {
        SampleRuns.Dispose();
        SampleValues.Dispose();
    }
}
