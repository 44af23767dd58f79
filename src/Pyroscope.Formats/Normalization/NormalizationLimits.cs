namespace Pyroscope.Formats.Normalization;

/// <summary>
/// The per-tenant limits the normaliser enforces (upstream names in the messages). Zero disables a limit.
/// Kept independent of the API layer so this library stays free of ASP.NET; the distributor maps its
/// tenant limits onto it.
/// </summary>
public sealed record NormalizationLimits
{
    public static readonly NormalizationLimits Defaults = new();

    public static readonly NormalizationLimits Unlimited = new()
    {
        MaxLabelNamesPerSeries = 0,
        MaxLabelNameLength = 0,
        MaxLabelValueLength = 0,
        MaxProfileSizeBytes = 0,
        MaxProfileStacktraceSamples = 0,
        MaxProfileStacktraceSampleLabels = 0,
        MaxProfileStacktraceDepth = 0,
        MaxProfileSymbolValueLength = 0,
        RejectOlderThan = TimeSpan.Zero,
        RejectNewerThan = TimeSpan.Zero,
    };

    public int MaxLabelNamesPerSeries { get; init; } = 30;
    public int MaxLabelNameLength { get; init; } = 1024;
    public int MaxLabelValueLength { get; init; } = 2048;
    public int MaxProfileSizeBytes { get; init; } = 4 * 1024 * 1024;
    public int MaxProfileStacktraceSamples { get; init; } = 16000;
    public int MaxProfileStacktraceSampleLabels { get; init; } = 100;
    public int MaxProfileStacktraceDepth { get; init; } = 1000;
    public int MaxProfileSymbolValueLength { get; init; } = 65535;
    public TimeSpan RejectOlderThan { get; init; } = TimeSpan.FromHours(1);
    public TimeSpan RejectNewerThan { get; init; } = TimeSpan.FromMinutes(10);
}
