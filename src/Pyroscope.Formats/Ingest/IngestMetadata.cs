using System.Globalization;

namespace Pyroscope.Formats.Ingest;

/// <summary>Everything the <c>/ingest</c> query string says about a body.</summary>
public sealed record IngestMetadata
{
    public required AppKey Key { get; init; }

    public long FromNanos { get; init; }

    public long UntilNanos { get; init; }

    public int SampleRate { get; init; } = 100;

    /// <summary>True when <c>sampleRate</c> was given explicitly (legacy formats scale by it).</summary>
    public bool SampleRateGiven { get; init; }

    public string SpyName { get; init; } = "unknown";

    public string Units { get; init; } = "samples";

    public string AggregationType { get; init; } = "sum";

    /// <summary>The <c>format</c> parameter, lower-cased; empty when absent.</summary>
    public string Format { get; init; } = "";

    /// <summary>Parses the query parameters (name, from, until, sampleRate, spyName, units, aggregationType, format).</summary>
    public static IngestMetadata Parse(Func<string, string?> query, long nowNanos)
    {
        var key = AppKey.Parse(query("name"));
        var from = IngestTime.ParseUnixNanos(query("from"), nowNanos, "from");
        var until = IngestTime.ParseUnixNanos(query("until"), nowNanos, "until");
        var sampleRateText = query("sampleRate");
        var sampleRate = 100;
        var given = false;
        if (!string.IsNullOrEmpty(sampleRateText))
        {
            if (!int.TryParse(sampleRateText, NumberStyles.Integer, CultureInfo.InvariantCulture, out sampleRate) || sampleRate < 0)
            {
                throw new ProfileFormatException($"invalid sampleRate \"{sampleRateText}\" (expected a non-negative integer)");
            }
            given = true;
        }
        return new IngestMetadata
        {
            Key = key,
            FromNanos = from,
            UntilNanos = until,
            SampleRate = sampleRate,
            SampleRateGiven = given,
            SpyName = NonEmpty(query("spyName"), "unknown"),
            Units = NonEmpty(query("units"), "samples"),
            AggregationType = NonEmpty(query("aggregationType"), "sum"),
            Format = (query("format") ?? "").Trim().ToLowerInvariant(),
        };
    }

    private static string NonEmpty(string? value, string fallback) => string.IsNullOrWhiteSpace(value) ? fallback : value.Trim();
}
