using Pyroscope.Api;
using Pyroscope.Contracts.Recording.V1;
using Pyroscope.Contracts.Settings.V1;
using Pyroscope.Model;
using Pyroscope.Model.Query;
using Pyroscope.Recording;
using TypesV1 = Pyroscope.Contracts.Types.V1;

namespace Pyroscope.Querier;

/// <summary>
/// recording.v1.SelectRecordedSeries: a recording rule's series over any past range, computed from the stored
/// profiles with SelectSeries' points (a point at t sums the profiles in (t − step, t]) and the labels the
/// Prometheus endpoint exports. A total rule is one SelectSeries; a function rule merges the stacks of each
/// (group, step) that holds profiles and keeps the samples whose stack contains the function.
/// </summary>
public sealed class RecordedSeriesQuery(QueryEngine engine, IProfileReader reader, IRecordingRuleSource rules)
{
    /// <summary>Stack merges one function-rule query may run: (group, step) cells holding profiles.</summary>
    public const int MaxFunctionCells = 11_000;

    public async Task<SelectRecordedSeriesResponse> SelectAsync(string tenant, SelectRecordedSeriesRequest request, CancellationToken ct)
    {
        var rule = CompiledRecordingRule.Compile(await RuleAsync(tenant, request, ct).ConfigureAwait(false));
        var response = new SelectRecordedSeriesResponse();
        if (rule.FunctionName is null)
        {
            var totals = await engine.SeriesAsync(tenant, rule.SelectMatchers(), request.Start, request.End, request.Step,
                rule.GroupBy, TypesV1.TimeSeriesAggregationType.Sum, limit: null, ct).ConfigureAwait(false);
            foreach (var series in totals)
            {
                response.Series.Add(Relabel(rule, series.Labels, series.Points));
            }
            return response;
        }
        response.Series.Add(await FunctionSeriesAsync(tenant, rule, request, ct).ConfigureAwait(false));
        return response;
    }

    private async Task<RecordingRule> RuleAsync(string tenant, SelectRecordedSeriesRequest request, CancellationToken ct)
    {
        if (request.RuleId.Length > 0)
        {
            foreach (var stored in await rules.ListAsync(tenant, ct).ConfigureAwait(false))
            {
                if (stored.Id == request.RuleId)
                {
                    return stored;
                }
            }
            throw new ApiException(ConnectCode.NotFound, $"no rule with id='{request.RuleId}' found");
        }
        if (request.Rule is null)
        {
            throw ApiException.InvalidArgument("rule_id or rule is required");
        }
        var preview = request.Rule.Clone();
        if (preview.Id.Length == 0)
        {
            preview.Id = "preview";
        }
        RecordingRuleValidator.ValidateUpsert(preview);
        var rule = new RecordingRule { Id = preview.Id, MetricName = preview.MetricName, Generation = preview.Generation, StacktraceFilter = preview.StacktraceFilter };
        rule.Matchers.Add(preview.Matchers);
        rule.GroupBy.Add(preview.GroupBy);
        rule.ExternalLabels.Add(preview.ExternalLabels);
        return rule;
    }

    private async Task<List<TypesV1.Series>> FunctionSeriesAsync(string tenant, CompiledRecordingRule rule, SelectRecordedSeriesRequest request, CancellationToken ct)
    {
        var range = engine.SelectRange(tenant, request.Start, request.End);
        var (start, end) = (QueryTime.ClampMs(request.Start), QueryTime.ClampMs(request.End));
        var stepMs = QueryEngine.StepMs(request.Step, start, end);
        if (range is null)
        {
            return [];
        }
        var matchers = rule.SelectMatchers();
        var totals = await reader.ProfileTotalsAsync(tenant, new SelectQuery(matchers, range.Value), ct).ConfigureAwait(false);

        // Which (group, step) cells hold profiles, with SeriesAggregator's step rule.
        var lastStep = start + (end - start) / stepMs * stepMs;
        var cells = new SortedDictionary<(string Group, long Step), LabelSet>();
        foreach (var total in totals)
        {
            if (total.TimestampMs > lastStep)
            {
                continue;
            }
            var step = total.TimestampMs <= start ? start : start + (total.TimestampMs - start + stepMs - 1) / stepMs * stepMs;
            var group = Group(rule, total.Series);
            cells.TryAdd((group.ToString(), step), group);
            if (cells.Count > MaxFunctionCells)
            {
                throw ApiException.InvalidArgument($"the rule's function total needs more than {MaxFunctionCells} stack merges (groups × steps holding profiles); try increasing the step ({request.Step}s) or narrowing the range");
            }
        }

        var series = new Dictionary<string, TypesV1.Series>(StringComparer.Ordinal);
        foreach (var ((key, step), group) in cells)
        {
            var window = new TimeRange(Math.Max(range.Value.StartMs, step - stepMs + 1), Math.Min(range.Value.EndMs, step));
            var cellMatchers = new List<LabelMatcher>(matchers);
            foreach (var name in rule.GroupBy)
            {
                cellMatchers.Add(new LabelMatcher(name, Model.MatchType.Equal, group.Get(name) ?? ""));
            }
            var sink = new FunctionTotalSink(rule.FunctionName!);
            await reader.MergeStacksAsync(tenant, new SelectQuery(cellMatchers, window), sink, ct).ConfigureAwait(false);
            if (!series.TryGetValue(key, out var s))
            {
                series[key] = s = Relabel(rule, LabelPairs(group), []);
            }
            s.Points.Add(new TypesV1.Point { Timestamp = step, Value = sink.Total });
        }
        var ordered = new List<TypesV1.Series>(series.Values);
        ordered.Sort(static (a, b) => string.CompareOrdinal(a.Labels.ToString(), b.Labels.ToString()));
        return ordered;
    }

    private static LabelSet Group(CompiledRecordingRule rule, LabelSet labels)
    {
        var kept = new List<Label>(rule.GroupBy.Count);
        foreach (var name in rule.GroupBy)
        {
            if (labels.Get(name) is { Length: > 0 } value)
            {
                kept.Add(new Label(name, value));
            }
        }
        return LabelSet.From(kept);
    }

    private static List<TypesV1.LabelPair> LabelPairs(LabelSet labels)
    {
        var pairs = new List<TypesV1.LabelPair>(labels.Count);
        foreach (var l in labels.Labels)
        {
            pairs.Add(new TypesV1.LabelPair { Name = l.Name, Value = l.Value });
        }
        return pairs;
    }

    /// <summary>The series as the Prometheus endpoint names it: __name__, profiles_rule_id, external and group labels.</summary>
    private static TypesV1.Series Relabel(CompiledRecordingRule rule, IEnumerable<TypesV1.LabelPair> groupLabels, IEnumerable<TypesV1.Point> points)
    {
        var group = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var l in groupLabels)
        {
            group[l.Name] = l.Value;
        }
        var labels = rule.ExportedLabels(name => group.GetValueOrDefault(name));
        labels[LabelNames.MetricName] = rule.MetricName;
        var series = new TypesV1.Series();
        foreach (var (name, value) in labels)
        {
            series.Labels.Add(new TypesV1.LabelPair { Name = name, Value = value });
        }
        series.Points.Add(points);
        return series;
    }

    /// <summary>Sums the samples whose stack contains the function (each sample once, however often it recurs).</summary>
    private sealed class FunctionTotalSink(string function) : IStackSink
    {
        private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
        private readonly List<bool> _isFunction = [];

        public long Total { get; private set; }

        public int Intern(string frameName)
        {
            if (!_ids.TryGetValue(frameName, out var id))
            {
                _ids[frameName] = id = _isFunction.Count;
                _isFunction.Add(frameName == function);
            }
            return id;
        }

        public void Add(ReadOnlySpan<int> rootToLeaf, long value)
        {
            foreach (var id in rootToLeaf)
            {
                if (_isFunction[id])
                {
                    Total += value;
                    return;
                }
            }
        }
    }
}
