namespace Pyroscope.Api.Limits;

/// <summary>
/// Per-tenant limits with upstream's names (pkg/validation/limits.go) and defaults. Zero means "no limit"
/// wherever upstream reads it so (sizes, counts, durations).
/// </summary>
public sealed record TenantLimits
{
    public static readonly TenantLimits Defaults = new();

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

    // Compactor / retention: zero keeps blocks forever.
    public TimeSpan CompactorBlocksRetentionPeriod { get; init; } = TimeSpan.Zero;

    public long IngestionRateBytesPerSecond => (long)(IngestionRateMb * 1024 * 1024);

    public long IngestionBurstSizeBytes => (long)(IngestionBurstSizeMb * 1024 * 1024);

    /// <summary>Zero (or negative) means unlimited; callers get <see cref="long.MaxValue"/> then.</summary>
    public long IngestionBodyLimitBytes => IngestionBodyLimitMb > 0 ? (long)(IngestionBodyLimitMb * 1024 * 1024) : long.MaxValue;
}
