using System.Text;
using Pyroscope.Model;

namespace Pyroscope.Formats.Normalization;

/// <summary>Label rules of upstream's ValidateLabels, with its messages and discard reasons.</summary>
public static class SeriesLabelValidator
{
    public static void Validate(IReadOnlyList<Label> sortedLabels, TenantLimits limits)
    {
        if (sortedLabels.Count == 0)
        {
            throw new ProfileValidationException(DiscardReasons.MissingLabels, "error at least one label pair is required per profile");
        }
        if (limits.MaxLabelNamesPerSeries > 0 && sortedLabels.Count > limits.MaxLabelNamesPerSeries)
        {
            throw new ProfileValidationException(DiscardReasons.MaxLabelNamesPerSeries,
                $"profile series '{Format(sortedLabels)}' has {sortedLabels.Count} label names; limit {limits.MaxLabelNamesPerSeries} (max_label_names_per_series)");
        }
        var metricName = Get(sortedLabels, LabelNames.MetricName);
        if (!IsValidName(metricName))
        {
            throw new ProfileValidationException(DiscardReasons.InvalidLabels,
                $"invalid labels '{Format(sortedLabels)}' with error: invalid metric name (label __name__ is missing or empty)");
        }
        if (string.IsNullOrEmpty(Get(sortedLabels, LabelNames.ServiceName)))
        {
            throw new ProfileValidationException(DiscardReasons.MissingLabels,
                $"invalid labels '{Format(sortedLabels)}' with error: service name is not provided");
        }
        string? last = null;
        foreach (var label in sortedLabels)
        {
            if (limits.MaxLabelNameLength > 0 && label.Name.Length > limits.MaxLabelNameLength)
            {
                throw new ProfileValidationException(DiscardReasons.LabelNameTooLong,
                    $"profile with labels '{Format(sortedLabels)}' has label name too long: '{Truncate(label.Name)}' ({label.Name.Length} characters, max_label_name_length {limits.MaxLabelNameLength})");
            }
            if (limits.MaxLabelValueLength > 0 && label.Value.Length > limits.MaxLabelValueLength)
            {
                throw new ProfileValidationException(DiscardReasons.LabelValueTooLong,
                    $"profile with labels '{Format(sortedLabels)}' has label value too long: '{Truncate(label.Value)}' ({label.Value.Length} characters, max_label_value_length {limits.MaxLabelValueLength})");
            }
            if (!IsValidName(label.Name))
            {
                throw new ProfileValidationException(DiscardReasons.InvalidLabels,
                    $"invalid labels '{Format(sortedLabels)}' with error: invalid label name '{Truncate(label.Name)}'");
            }
            if (label.Name == last)
            {
                throw new ProfileValidationException(DiscardReasons.DuplicateLabelNames,
                    $"profile with labels '{Format(sortedLabels)}' has duplicate label name: '{label.Name}'");
            }
            last = label.Name;
        }
    }

    /// <summary>
    /// Names follow Prometheus' UTF-8 scheme as upstream v1 does: any non-empty text without control
    /// characters (dotted OpenTelemetry names such as <c>service.version</c> are common).
    /// </summary>
    public static bool IsValidName(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return false;
        }
        foreach (var c in name)
        {
            if (char.IsControl(c))
            {
                return false;
            }
        }
        return true;
    }

    private static string? Get(IReadOnlyList<Label> labels, string name)
    {
        for (var i = 0; i < labels.Count; i++)
        {
            if (labels[i].Name == name)
            {
                return labels[i].Value;
            }
        }
        return null;
    }

    /// <summary>Upstream's LabelPairsString form: <c>{a="1", b="2"}</c>, shortened for messages.</summary>
    public static string Format(IReadOnlyList<Label> labels)
    {
        var sb = new StringBuilder("{");
        for (var i = 0; i < labels.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }
            sb.Append(Truncate(labels[i].Name)).Append("=\"").Append(Truncate(labels[i].Value)).Append('"');
            if (sb.Length > 1024)
            {
                sb.Append(", …");
                break;
            }
        }
        return sb.Append('}').ToString();
    }

    private static string Truncate(string s) => s.Length > 120 ? s[..120] + "…" : s;
}
