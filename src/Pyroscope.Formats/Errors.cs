namespace Pyroscope.Formats;

/// <summary>The body could not be understood: names the format and what/where was wrong. Always a client error.</summary>
public class ProfileFormatException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The body exceeded a decompression or size cap. Distinct so callers can answer 413.</summary>
public sealed class ProfileTooLargeException(string message) : ProfileFormatException(message);

/// <summary>
/// The profile was understood but refused by a per-tenant limit or a validation rule. <see cref="Reason"/>
/// is upstream's discard reason (max_label_names_per_series, samples_limit, ...), used as a metric tag.
/// </summary>
public sealed class ProfileValidationException(string reason, string message) : Exception(message)
{
    public string Reason { get; } = reason;
}

/// <summary>Upstream's discard reasons (pkg/validation/validate.go).</summary>
public static class DiscardReasons
{
    public const string InvalidLabels = "invalid_labels";
    public const string MissingLabels = "missing_labels";
    public const string RateLimited = "rate_limited";
    public const string MaxLabelNamesPerSeries = "max_label_names_per_series";
    public const string LabelNameTooLong = "label_name_too_long";
    public const string LabelValueTooLong = "label_value_too_long";
    public const string DuplicateLabelNames = "duplicate_label_names";
    public const string SamplesLimit = "samples_limit";
    public const string ProfileSizeLimit = "profile_size_limit";
    public const string SampleLabelsLimit = "sample_labels_limit";
    public const string MalformedProfile = "malformed_profile";
    public const string NotInIngestionWindow = "not_in_ingestion_window";
    public const string BodySizeLimit = "body_size_limit";
    public const string SeriesLimit = "series_limit";

    /// <summary>Ours, not upstream's: a profile whose series would together hold too many symbol entries.</summary>
    public const string ExpansionLimit = "profile_expansion_limit";
}
