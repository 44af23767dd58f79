using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Pyroscope.Api;
using Pyroscope.Contracts.Settings.V1;
using Pyroscope.Model;
using Pyroscope.Model.Query;

namespace Pyroscope.Recording;

/// <summary>
/// Checks an upsert as upstream's <c>validateUpsert</c> does (pkg/settings/recording), every problem at once and
/// each naming its field, so a client learns all it must fix from one answer. A few caps upstream lacks keep one
/// rule's evaluation on the write path small.
/// </summary>
public static partial class RecordingRuleValidator
{
    public const string MetricNamePrefix = "profiles_recorded_";
    public const string RuleIdLabel = "profiles_rule_id";
    public const int MaxMatchers = 32;
    public const int MaxGroupBy = 16;
    public const int MaxExternalLabels = 32;
    public const int MaxStringLength = 1024;
    private const int GeneratedIdLength = 10;
    private const string IdPattern = "^[a-zA-Z]+$";
    private const string LabelNamePattern = "^[a-zA-Z_][a-zA-Z0-9_]*$";

    [GeneratedRegex(IdPattern)]
    private static partial Regex IdRegex();

    [GeneratedRegex("^[a-zA-Z_:][a-zA-Z0-9_:]*$")]
    private static partial Regex MetricNameRegex();

    [GeneratedRegex(LabelNamePattern)]
    private static partial Regex LabelNameRegex();

    /// <summary>
    /// Normalises <paramref name="request"/> in place (trims the metric name; an empty id becomes a new random one with
    /// generation 1, as upstream) and refuses it with invalid_argument listing every problem.
    /// </summary>
    public static void ValidateUpsert(UpsertRecordingRuleRequest request)
    {
        if (request.Id.Length == 0)
        {
            request.Id = NewId();
            request.Generation = 1;
        }
        request.MetricName = request.MetricName.Trim();

        var errors = new List<string>();
        if (!IdRegex().IsMatch(request.Id) || request.Id.Length > MaxStringLength)
        {
            errors.Add($"id \"{Shorten(request.Id)}\" must match {IdPattern}");
        }
        if (request.MetricName.Length == 0)
        {
            errors.Add("metric_name is required");
        }
        else if (MetricNameProblem(request.MetricName) is { } problem)
        {
            errors.Add($"metric_name \"{Shorten(request.MetricName)}\" is invalid: {problem}");
        }
        CheckMatchers(request.Matchers, errors);
        CheckGroupBy(request.GroupBy, errors);
        CheckExternalLabels(request.ExternalLabels, errors);
        if (request.Generation < 0)
        {
            errors.Add($"generation must be positive, got {request.Generation}");
        }
        CheckStacktraceFilter(request.StacktraceFilter, errors);
        if (errors.Count > 0)
        {
            throw ApiException.InvalidArgument("invalid request: " + string.Join("; ", errors));
        }
    }

    /// <summary>An id for Get and Delete: required, trimmed as upstream.</summary>
    public static string RequireId(string? id)
    {
        var trimmed = id?.Trim() ?? "";
        if (trimmed.Length == 0)
        {
            throw ApiException.InvalidArgument("invalid request: id is required");
        }
        return trimmed;
    }

    /// <summary>The value of the rule's <c>__profile_type__</c> equality matcher, "unknown" when there is none (upstream's answer).</summary>
    public static string ProfileTypeOf(IEnumerable<string> matchers)
    {
        foreach (var text in matchers)
        {
            if (!TryParse(text, out var parsed, out _))
            {
                continue;
            }
            foreach (var m in parsed)
            {
                if (m.Name == LabelNames.ProfileType && m.Type == Model.MatchType.Equal)
                {
                    return m.Value;
                }
            }
        }
        return "unknown";
    }

    internal static bool TryParse(string text, out IReadOnlyList<LabelMatcher> matchers, out string? error)
    {
        try
        {
            matchers = SelectorParser.Parse(text).Matchers;
            error = null;
            return true;
        }
        catch (SelectorParseException e)
        {
            matchers = [];
            error = e.Message;
            return false;
        }
    }

    internal static string? MetricNameProblem(string name)
    {
        if (name.Length > MaxStringLength || !MetricNameRegex().IsMatch(name))
        {
            return "not a Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)";
        }
        return name.StartsWith(MetricNamePrefix, StringComparison.Ordinal) ? null : $"metric name must start with {MetricNamePrefix}";
    }

    internal static bool IsLabelName(string name) => name.Length <= MaxStringLength && LabelNameRegex().IsMatch(name);

    private static void CheckMatchers(IList<string> matchers, List<string> errors)
    {
        if (matchers.Count > MaxMatchers)
        {
            errors.Add($"matchers has {matchers.Count} entries, the limit is {MaxMatchers}");
            return;
        }
        var profileTypeMatchers = 0;
        foreach (var text in matchers)
        {
            if (text.Length > MaxStringLength)
            {
                errors.Add($"matcher \"{Shorten(text)}\" is {text.Length} characters long, the limit is {MaxStringLength}");
                continue;
            }
            if (!TryParse(text, out var parsed, out var error))
            {
                errors.Add($"matcher \"{text}\" is invalid: {error}");
                continue;
            }
            foreach (var m in parsed)
            {
                if (m.Name != LabelNames.ProfileType)
                {
                    continue;
                }
                profileTypeMatchers++;
                if (m.Type != Model.MatchType.Equal)
                {
                    errors.Add($"matcher \"{text}\": {LabelNames.ProfileType} must be matched with \"=\"");
                }
                else if (!ProfileTypeId.TryParse(m.Value, out _))
                {
                    errors.Add($"matcher \"{text}\": \"{m.Value}\" is not a profile type (name:sample_type:sample_unit:period_type:period_unit)");
                }
            }
        }
        if (profileTypeMatchers != 1)
        {
            errors.Add($"matchers must contain exactly one \"{LabelNames.ProfileType}\" matcher, found {profileTypeMatchers}");
        }
    }

    private static void CheckGroupBy(IList<string> groupBy, List<string> errors)
    {
        if (groupBy.Count > MaxGroupBy)
        {
            errors.Add($"group_by has {groupBy.Count} labels, the limit is {MaxGroupBy}");
            return;
        }
        foreach (var name in groupBy)
        {
            if (!IsLabelName(name))
            {
                errors.Add($"group_by label \"{Shorten(name)}\" must match {LabelNamePattern}");
            }
        }
    }

    private static void CheckExternalLabels(IList<Contracts.Types.V1.LabelPair> labels, List<string> errors)
    {
        if (labels.Count > MaxExternalLabels)
        {
            errors.Add($"external_labels has {labels.Count} labels, the limit is {MaxExternalLabels}");
            return;
        }
        foreach (var label in labels)
        {
            if (!IsLabelName(label.Name))
            {
                errors.Add($"external_labels name \"{Shorten(label.Name)}\" must match {LabelNamePattern}");
            }
            else if (label.Name is LabelNames.MetricName or RuleIdLabel)
            {
                errors.Add($"external_labels name \"{label.Name}\" is set by the rule itself (metric_name, id)");
            }
            if (label.Value.Length > MaxStringLength)
            {
                errors.Add($"external_labels value of \"{Shorten(label.Name)}\" is {label.Value.Length} characters long, the limit is {MaxStringLength}");
            }
        }
    }

    private static void CheckStacktraceFilter(StacktraceFilter? filter, List<string> errors)
    {
        if (filter?.FunctionName is not { } function)
        {
            return;
        }
        if (!Enum.IsDefined(function.MetricType))
        {
            errors.Add($"stacktrace_filter.function_name.metric_type {(int)function.MetricType} is not a known metric type (TOTAL)");
        }
        if (function.FunctionName.Length > MaxStringLength)
        {
            errors.Add($"stacktrace_filter.function_name.function_name is {function.FunctionName.Length} characters long, the limit is {MaxStringLength}");
        }
    }

    private static string NewId() => new(RandomNumberGenerator.GetItems<char>("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", GeneratedIdLength));

    private static string Shorten(string text) => text.Length <= 80 ? text : text[..80] + "…";
}
