namespace Pyroscope.Model;

// The seams between components. Each has an in-process implementation (monolith) and a
// network one (microservices); callers never know which they hold.

/// <summary>
/// Service keys under which a component registers the in-process side of a seam. The module table binds each
/// seam to it, or to the network side, depending on which modules run in the process.
/// </summary>
public static class InProcessSeams
{
    /// <summary>The ingester of this process: its <see cref="IIngesterClient"/> and its complete <see cref="IProfileReader"/> (head, local blocks and the store).</summary>
    public const string Ingester = "in-process-ingester";
}

/// <summary>
/// Distributor → ingester. Completes only when the ingester has made the write durable (or failed: then nothing of it
/// is stored). The caller keeps <paramref name="push"/> (its received bytes and normalised profiles) alive until then.
/// </summary>
public interface IIngesterClient
{
    Task PushAsync(string tenantId, Ingest.IngestPush push, CancellationToken cancellationToken);
}

/// <summary>A time range in unix milliseconds, start and end inclusive.</summary>
public readonly record struct TimeRange(long StartMs, long EndMs)
{
    public bool Overlaps(long minMs, long maxMs) => minMs <= EndMs && maxMs >= StartMs;

    public bool Contains(long ms) => ms >= StartMs && ms <= EndMs;
}

/// <summary>What to select: series matchers (including <c>__profile_type__</c>) and a time range.</summary>
public sealed record SelectQuery(IReadOnlyList<LabelMatcher> Matchers, TimeRange Range)
{
    /// <summary>When set, only samples carrying one of these span ids count (span profiles).</summary>
    public IReadOnlySet<string>? SpanIds { get; init; }

    /// <summary>When set, only samples carrying one of these trace ids (hex, see <see cref="TraceContextIds"/>) count.</summary>
    public IReadOnlySet<string>? TraceIds { get; init; }

    /// <summary>When set, only these profiles (by id) count: upstream's profile_id_selector. Unknown ids match nothing.</summary>
    public IReadOnlySet<string>? ProfileIds { get; init; }

    /// <summary>
    /// When set, only stacks whose frames start with these names (root first) count: upstream's call-site selector.
    /// Totals then are the call site's totals.
    /// </summary>
    public IReadOnlyList<string>? CallSite { get; init; }

    /// <summary>
    /// <see cref="IProfileReader.ProfileTotalsAsync"/> answers one total per (profile, span id, trace id) of the samples
    /// that carry a span or trace id, instead of one per profile; samples without either are left out.
    /// </summary>
    public bool TotalsPerSpan { get; init; }

    /// <summary>Whether anything but series and time range restricts the samples (the totals then need them read).</summary>
    public bool FiltersSamples => SpanIds is not null || TraceIds is not null || CallSite is { Count: > 0 } || TotalsPerSpan;

    /// <summary>
    /// Profiles (by id) this source must leave out because another source answers for them: how queriers of earlier
    /// versions counted a replicated profile once (current ones send each ingester the ids it answers for, as
    /// <see cref="ProfileIds"/>).
    /// </summary>
    public IReadOnlySet<string>? ExcludeProfileIds { get; init; }
}

/// <summary>Receives merged stacks; names are interned once per source, samples are added by id.</summary>
public interface IStackSink
{
    int Intern(string frameName);

    /// <summary>Adds <paramref name="value"/> to the stack given root first.</summary>
    void Add(ReadOnlySpan<int> rootToLeaf, long value);
}

/// <summary>
/// The total of one stored profile, for time series; with <see cref="SelectQuery.TotalsPerSpan"/> the total of one
/// span (and trace) of it.
/// </summary>
public readonly record struct ProfileTotal(LabelSet Series, long TimestampMs, long Value, string ProfileId)
{
    /// <summary>The span the total belongs to (0: none, or not asked per span).</summary>
    public ulong SpanId { get; init; }

    /// <summary>The trace the total belongs to (0: none, or not asked per span).</summary>
    public UInt128 TraceId { get; init; }
}

public readonly record struct ProfileStats(bool DataIngested, long OldestProfileMs, long NewestProfileMs);

/// <summary>
/// Read access to stored profiles of one source: an ingester's head, a set of blocks, or a remote
/// ingester. The querier merges the answers of many sources.
/// </summary>
public interface IProfileReader
{
    ValueTask<IReadOnlyList<ProfileTypeId>> ProfileTypesAsync(string tenantId, TimeRange range, CancellationToken cancellationToken);

    ValueTask<IReadOnlyList<string>> LabelNamesAsync(string tenantId, IReadOnlyList<LabelMatcher> matchers, TimeRange range, CancellationToken cancellationToken);

    ValueTask<IReadOnlyList<string>> LabelValuesAsync(string tenantId, string labelName, IReadOnlyList<LabelMatcher> matchers, TimeRange range, CancellationToken cancellationToken);

    ValueTask<IReadOnlyList<LabelSet>> SeriesAsync(string tenantId, IReadOnlyList<LabelMatcher> matchers, TimeRange range, CancellationToken cancellationToken);

    /// <summary>Adds every matching sample's stack to <paramref name="sink"/>.</summary>
    ValueTask MergeStacksAsync(string tenantId, SelectQuery query, IStackSink sink, CancellationToken cancellationToken);

    /// <summary>
    /// Adds every matching sample to <paramref name="merger"/> with its full symbols (mappings, functions with
    /// file names, locations with addresses and lines), under the same exactly-once rules as <see cref="MergeStacksAsync"/>.
    /// </summary>
    ValueTask MergeProfileAsync(string tenantId, SelectQuery query, Query.PprofMerger merger, CancellationToken cancellationToken);

    /// <summary>Returns one total per matching profile.</summary>
    ValueTask<IReadOnlyList<ProfileTotal>> ProfileTotalsAsync(string tenantId, SelectQuery query, CancellationToken cancellationToken);

    ValueTask<ProfileStats> StatsAsync(string tenantId, CancellationToken cancellationToken);
}
