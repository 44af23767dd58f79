namespace Pyroscope.Model;

/// <summary>
/// Per-tenant limits with upstream's names (pkg/validation/limits.go) and defaults: the one place each
/// default is written. The API layer binds them from configuration, the distributor's normaliser, the
/// ingester's series admission and the querier read them. Zero means "no limit" wherever upstream reads
/// it so (sizes, counts, rates, durations).
/// </summary>
public sealed record TenantLimits
{
    public static readonly TenantLimits Defaults = new();

    /// <summary>Every limit off: for tools and tests that normalise profiles without a tenant.</summary>
    public static readonly TenantLimits Unlimited = new()
    {
        IngestionRateMb = 0,
        IngestionBurstSizeMb = 0,
        IngestionBodyLimitMb = 0,
        MaxLabelNamesPerSeries = 0,
        MaxLabelNameLength = 0,
        MaxLabelValueLength = 0,
        MaxProfileSizeBytes = 0,
        MaxProfileStacktraceSamples = 0,
        MaxProfileStacktraceSampleLabels = 0,
        MaxProfileStacktraceDepth = 0,
        MaxProfileSymbolValueLength = 0,
        MaxGlobalSeriesPerTenant = 0,
        MaxLocalSeriesPerTenant = 0,
        RejectOlderThan = TimeSpan.Zero,
        RejectNewerThan = TimeSpan.Zero,
        MaxQueryLookback = TimeSpan.Zero,
        MaxQueryLength = TimeSpan.Zero,
        MaxRecordingRules = 0,
    };

    // Distributor
    public double IngestionRateMb { get; init; } = 4;
    public double IngestionBurstSizeMb { get; init; } = 2;
    public double IngestionBodyLimitMb { get; init; } = 256;
    public int MaxLabelNamesPerSeries { get; init; } = 30;
    public int MaxLabelNameLength { get; init; } = 1024;
    public int MaxLabelValueLength { get; init; } = 2048;
    public int MaxProfileSizeBytes { get; init; } = 4 * 1024 * 1024;
    public int MaxProfileStacktraceSamples { get; init; } = 16000;
    public int MaxProfileStacktraceSampleLabels { get; init; } = 100;
    public int MaxProfileStacktraceDepth { get; init; } = 1000;
    public int MaxProfileSymbolValueLength { get; init; } = 65535;

    // Ingester: active series per tenant (pkg/ingester/limiter.go). The global limit is spread over the
    // healthy ingesters (× replication factor); the stricter non-zero of the two applies on each ingester.
    public int MaxGlobalSeriesPerTenant { get; init; } = 5000;
    public int MaxLocalSeriesPerTenant { get; init; }

    public TimeSpan RejectOlderThan { get; init; } = TimeSpan.FromHours(1);
    public TimeSpan RejectNewerThan { get; init; } = TimeSpan.FromMinutes(10);

    // Querier
    public TimeSpan MaxQueryLookback { get; init; } = TimeSpan.FromDays(7);
    public TimeSpan MaxQueryLength { get; init; } = TimeSpan.FromDays(1);

    // Tenant settings: recording rules a tenant may store (pkg/validation: max_recording_rules).
    public int MaxRecordingRules { get; init; } = 25;

    // Compactor / retention: zero keeps blocks forever.
    public TimeSpan CompactorBlocksRetentionPeriod { get; init; } = TimeSpan.Zero;

    public long IngestionRateBytesPerSecond => (long)(IngestionRateMb * 1024 * 1024);

    public long IngestionBurstSizeBytes => (long)(IngestionBurstSizeMb * 1024 * 1024);

    /// <summary>Zero (or negative) means unlimited; callers get <see cref="long.MaxValue"/> then.</summary>
    public long IngestionBodyLimitBytes => IngestionBodyLimitMb > 0 ? (long)(IngestionBodyLimitMb * 1024 * 1024) : long.MaxValue;

    /// <summary>
    /// Cap on one profile's payload after decompression, in every ingest format: max_profile_size_bytes when
    /// set, else the body limit (so a gzip bomb never inflates past what the tenant may send).
    /// </summary>
    public long MaxProfilePayloadBytes =>
        MaxProfileSizeBytes > 0 ? MaxProfileSizeBytes : Math.Min(IngestionBodyLimitBytes, Array.MaxLength);
}
