using System.Collections.Concurrent;
using Google.Protobuf.Collections;
using Pyroscope.Contracts.Settings.V1;
using Pyroscope.Model;
using TypesV1 = Pyroscope.Contracts.Types.V1;

namespace Pyroscope.Recording;

/// <summary>
/// A validated rule ready to evaluate: its series matchers (the profile type apart), the labels every series it
/// produces carries, and the counters of what it has recorded in this process since it was compiled.
/// </summary>
/// <remarks>
/// Exported labels follow upstream's recording rules: <c>__name__</c> = metric_name, <c>profiles_rule_id</c> = id,
/// the external labels, then each group_by label the profile's series has (a group_by label wins over an external
/// label of the same name). A rule's counters live as long as its (id, generation): an update starts them anew.
/// </remarks>
public sealed class CompiledRecordingRule
{
    /// <summary>Distinct groups one rule records; beyond it samples of new groups are dropped (and counted).</summary>
    public const int MaxSeriesPerRule = 10_000;

    // A cache keyed by series fingerprint: a series always falls in the same group, so the group key is built once.
    private const int MaxCachedSeries = 100_000;

    private readonly ConcurrentDictionary<string, RecordedSeries> _groups = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<ulong, RecordedSeries> _bySeries = new();
    private long _droppedSamples;

    private CompiledRecordingRule(RecordingRule rule, string profileType, LabelMatcher[] matchers, string? functionName)
    {
        Rule = rule;
        ProfileType = profileType;
        Matchers = matchers;
        FunctionName = functionName;
        GroupBy = [.. rule.GroupBy];
        var external = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var label in rule.ExternalLabels)
        {
            if (label.Name is not (LabelNames.MetricName or RecordingRuleValidator.RuleIdLabel))
            {
                external[label.Name] = label.Value;
            }
        }
        external[RecordingRuleValidator.RuleIdLabel] = rule.Id;
        ConstantLabels = external;
    }

    /// <summary>The rule as the API shows it.</summary>
    public RecordingRule Rule { get; }

    public string Id => Rule.Id;

    public long Generation => Rule.Generation;

    public string MetricName => Rule.MetricName;

    public string ProfileType { get; }

    /// <summary>Every matcher except the profile type's; regular expressions match in linear time without a budget.</summary>
    public IReadOnlyList<LabelMatcher> Matchers { get; }

    public string? FunctionName { get; }

    public IReadOnlyList<string> GroupBy { get; }

    /// <summary><c>profiles_rule_id</c> and the external labels.</summary>
    public IReadOnlyDictionary<string, string> ConstantLabels { get; }

    /// <summary>Samples of groups past <see cref="MaxSeriesPerRule"/> that were not recorded.</summary>
    public long DroppedSamples => Interlocked.Read(ref _droppedSamples);

    /// <summary>Compiles a stored rule; throws <see cref="Api.ApiException"/> (invalid_argument) when it does not validate.</summary>
    public static CompiledRecordingRule Compile(RecordingRule rule)
    {
        var upsert = new UpsertRecordingRuleRequest
        {
            Id = rule.Id,
            MetricName = rule.MetricName,
            Generation = rule.Generation,
            StacktraceFilter = rule.StacktraceFilter,
        };
        upsert.Matchers.Add(rule.Matchers);
        upsert.GroupBy.Add(rule.GroupBy);
        upsert.ExternalLabels.Add(rule.ExternalLabels);
        RecordingRuleValidator.ValidateUpsert(upsert);

        string? profileType = null;
        var matchers = new List<LabelMatcher>();
        foreach (var text in rule.Matchers)
        {
            RecordingRuleValidator.TryParse(text, out var parsed, out _);
            foreach (var m in parsed)
            {
                if (m.Name == LabelNames.ProfileType)
                {
                    profileType = m.Value;
                }
                else
                {
                    matchers.Add(new LabelMatcher(m.Name, m.Type, m.Value, Timeout.InfiniteTimeSpan));
                }
            }
        }
        var function = rule.StacktraceFilter?.FunctionName?.FunctionName;
        return new CompiledRecordingRule(rule, profileType!, [.. matchers], string.IsNullOrEmpty(function) ? null : function);
    }

    /// <summary>The series matchers including the profile type's, for reading stored profiles.</summary>
    public List<LabelMatcher> SelectMatchers()
    {
        var all = new List<LabelMatcher>(Matchers.Count + 1) { new(LabelNames.ProfileType, Model.MatchType.Equal, ProfileType) };
        all.AddRange(Matchers);
        return all;
    }

    public bool Matches(RepeatedField<TypesV1.LabelPair> labels)
    {
        foreach (var matcher in Matchers)
        {
            if (!matcher.Matches(Find(labels, matcher.Name)))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// The series the profile's group adds to (<paramref name="fingerprint"/> 0: not known); null when the rule is at
    /// <see cref="MaxSeriesPerRule"/> and this would be a new group (counted in <see cref="DroppedSamples"/>).
    /// </summary>
    public RecordedSeries? SeriesFor(RepeatedField<TypesV1.LabelPair> labels, ulong fingerprint)
    {
        if (fingerprint != 0 && _bySeries.TryGetValue(fingerprint, out var cached))
        {
            return cached;
        }
        var series = GroupOf(labels);
        if (series is null)
        {
            Interlocked.Increment(ref _droppedSamples);
            return null;
        }
        if (fingerprint != 0)
        {
            if (_bySeries.Count >= MaxCachedSeries)
            {
                _bySeries.Clear();
            }
            _bySeries[fingerprint] = series;
        }
        return series;
    }

    /// <summary>The groups recorded so far; values are read without stopping writers.</summary>
    public ICollection<RecordedSeries> Series => _groups.Values;

    /// <summary>The exported labels of a group: constant labels plus the group_by values (sorted by name).</summary>
    public SortedDictionary<string, string> ExportedLabels(Func<string, string?> groupValue)
    {
        var labels = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in ConstantLabels)
        {
            labels[name] = value;
        }
        foreach (var name in GroupBy)
        {
            if (groupValue(name) is { Length: > 0 } value)
            {
                labels[name] = value;
            }
        }
        return labels;
    }

    private RecordedSeries? GroupOf(RepeatedField<TypesV1.LabelPair> labels)
    {
        var key = GroupKey(labels);
        if (_groups.TryGetValue(key, out var existing))
        {
            return existing;
        }
        if (_groups.Count >= MaxSeriesPerRule)
        {
            return null;
        }
        return _groups.GetOrAdd(key, _ => new RecordedSeries(ExportedLabels(name => Find(labels, name))));
    }

    private string GroupKey(RepeatedField<TypesV1.LabelPair> labels)
    {
        if (GroupBy.Count == 0)
        {
            return "";
        }
        var key = new System.Text.StringBuilder();
        foreach (var name in GroupBy)
        {
            // A separator that cannot occur in UTF-8 text: values never run into each other.
            key.Append(Find(labels, name) ?? "").Append('\uffff');
        }
        return key.ToString();
    }

    internal static string? Find(RepeatedField<TypesV1.LabelPair> labels, string name)
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
}

/// <summary>One time series of a rule: its exported labels and the running total recorded in this process.</summary>
public sealed class RecordedSeries(SortedDictionary<string, string> labels)
{
    private long _total;

    public long Value => Interlocked.Read(ref _total);

    internal void Add(long value) => Interlocked.Add(ref _total, value);

    /// <summary>Sorted by name; <c>__name__</c> is not among them (it is the rule's metric name).</summary>
    public IReadOnlyDictionary<string, string> Labels { get; } = labels;
}
