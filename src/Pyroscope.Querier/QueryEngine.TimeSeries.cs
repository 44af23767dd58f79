using Pyroscope.Api;
using Pyroscope.Contracts.Querier.V1;
using Pyroscope.Model;
using Pyroscope.Model.Query;
using TypesV1 = Pyroscope.Contracts.Types.V1;

namespace Pyroscope.Querier;

/// <summary>Time series and heatmaps: per-profile (or per-span) totals aggregated over time, with exemplars.</summary>
public sealed partial class QueryEngine
{
    public async Task<SelectSeriesResponse> SelectSeriesAsync(string tenant, SelectSeriesRequest request, CancellationToken ct)
    {
        if (request.HasLimit && request.Limit < 0)
        {
            throw ApiException.InvalidArgument($"limit must not be negative, got {request.Limit}");
        }
        if (request.ExemplarType is < TypesV1.ExemplarType.Unspecified or > TypesV1.ExemplarType.Span)
        {
            throw ApiException.InvalidArgument($"exemplar_type: unknown value {(int)request.ExemplarType} (expected EXEMPLAR_TYPE_NONE, _INDIVIDUAL or _SPAN)");
        }
        var type = ParseProfileType(request.ProfileTypeID);
        var aggregation = request.HasAggregation ? request.Aggregation : TypesV1.TimeSeriesAggregationType.Sum;
        var selection = SampleSelection.All with { CallSite = SampleSelection.CallSiteOf(request.StackTraceSelector) };
        var series = await SeriesAsync(tenant, Matchers(type, request.LabelSelector), request.Start, request.End, request.Step,
            request.GroupBy, aggregation, request.HasLimit ? request.Limit : null, ct, selection, request.ExemplarType).ConfigureAwait(false);
        var response = new SelectSeriesResponse();
        response.Series.AddRange(series);
        return response;
    }

    /// <summary>
    /// Time series of profile totals for <paramref name="matchers"/> (which carry the profile type): the call site's
    /// totals when <paramref name="selection"/> has one. <paramref name="exemplars"/> INDIVIDUAL attaches the
    /// highest-valued profile of each point, SPAN its highest-valued span (same call site).
    /// </summary>
    public async Task<List<TypesV1.Series>> SeriesAsync(
        string tenant, IReadOnlyList<LabelMatcher> matchers, long start, long end, double stepSeconds,
        IReadOnlyList<string> groupBy, TypesV1.TimeSeriesAggregationType aggregation, long? limit, CancellationToken ct,
        SampleSelection? selection = null, TypesV1.ExemplarType exemplars = TypesV1.ExemplarType.None)
    {
        var range = SelectRange(tenant, start, end);
        (start, end) = (QueryTime.ClampMs(start), QueryTime.ClampMs(end));
        var stepMs = StepMs(stepSeconds, start, end);
        if (range is null)
        {
            return [];
        }
        var query = (selection ?? SampleSelection.All).On(matchers, range.Value);
        var totals = await reader.ProfileTotalsAsync(tenant, query, ct).ConfigureAwait(false);
        var exemplarTotals = exemplars switch
        {
            TypesV1.ExemplarType.Individual => totals,
            TypesV1.ExemplarType.Span => await reader.ProfileTotalsAsync(tenant, query with { TotalsPerSpan = true }, ct).ConfigureAwait(false),
            _ => null,
        };
        return SeriesAggregator.Aggregate(totals, start, end, stepMs, groupBy, aggregation, limit, exemplarTotals);
    }

    /// <summary>
    /// Individual profiles (or spans) bucketed by time and value, as upstream's SelectHeatmap (see
    /// <see cref="HeatmapBuilder"/>). Slots end at <c>start + k·step</c>, so profiles back to one step before
    /// <c>start</c> land in the first.
    /// </summary>
    public async Task<SelectHeatmapResponse> SelectHeatmapAsync(string tenant, SelectHeatmapRequest request, CancellationToken ct)
    {
        if (double.IsNaN(request.Step) || request.Step < 0.001)
        {
            throw ApiException.InvalidArgument($"step must be at least 1ms (0.001 seconds), got {request.Step}");
        }
        if (request.HasLimit && request.Limit < 0)
        {
            throw ApiException.InvalidArgument($"limit must not be negative, got {request.Limit}");
        }
        if (request.Start >= request.End)
        {
            throw ApiException.InvalidArgument($"start must be before end, got start={request.Start} end={request.End}");
        }
        var spans = request.QueryType switch
        {
            HeatmapQueryType.Individual => false,
            HeatmapQueryType.Span => true,
            _ => throw ApiException.InvalidArgument($"query_type must be HEATMAP_QUERY_TYPE_INDIVIDUAL or HEATMAP_QUERY_TYPE_SPAN, got {request.QueryType}"),
        };
        var exemplars = request.ExemplarType switch
        {
            TypesV1.ExemplarType.Unspecified or TypesV1.ExemplarType.None => false,
            TypesV1.ExemplarType.Individual when !spans => true,
            TypesV1.ExemplarType.Span when spans => true,
            TypesV1.ExemplarType.Individual or TypesV1.ExemplarType.Span =>
                throw ApiException.InvalidArgument($"exemplar_type {request.ExemplarType} needs the matching query_type, got {request.QueryType}"),
            _ => throw ApiException.InvalidArgument($"exemplar_type: unknown value {(int)request.ExemplarType} (expected EXEMPLAR_TYPE_NONE, _INDIVIDUAL or _SPAN)"),
        };
        var type = ParseProfileType(request.ProfileTypeID);
        var matchers = Matchers(type, request.LabelSelector);
        var range = SelectRange(tenant, request.Start, request.End);
        var response = new SelectHeatmapResponse();
        if (range is null)
        {
            return response;
        }
        var (start, end) = (QueryTime.ClampMs(request.Start), QueryTime.ClampMs(request.End));
        // A step longer than the range makes one slot either way; capping it keeps the arithmetic far from overflow.
        var stepMs = Math.Max(1, (long)Math.Min(request.Step * 1000, end - start + 1));
        // One step before start (unless the look-back limit cut the range), so the first slot (start - step, start] is complete.
        var read = range.Value.StartMs == start ? range.Value with { StartMs = Math.Max(0, start - stepMs) } : range.Value;
        var totals = await reader.ProfileTotalsAsync(tenant, new SelectQuery(matchers, read) { TotalsPerSpan = spans }, ct).ConfigureAwait(false);
        var points = new List<HeatmapBuilder.Point>(totals.Count);
        foreach (var t in totals)
        {
            // Span points are the spans' sums, whichever profiles they come from (upstream keys them without a profile id).
            points.Add(new HeatmapBuilder.Point(t.Series, t.TimestampMs, t.Value, spans ? "" : t.ProfileId, t.SpanId, t.TraceId));
        }
        response.Series.AddRange(HeatmapBuilder.Build(points, start, end, stepMs, request.GroupBy, exemplars, request.HasLimit ? request.Limit : null));
        return response;
    }

    internal static long StepMs(double stepSeconds, long start, long end)
    {
        if (double.IsNaN(stepSeconds) || stepSeconds < 0)
        {
            throw ApiException.InvalidArgument($"step must be a positive number of seconds, got {stepSeconds}");
        }
        if (stepSeconds == 0)
        {
            stepSeconds = TimelineBuilder.StepSeconds(start, end);
        }
        // One step never needs to be longer than the range; a larger one (up to +∞) only risks overflow later.
        var stepMs = Math.Clamp((long)Math.Round(stepSeconds * 1000), 1, Math.Max(1, end - start + 1));
        if ((end - start) / stepMs > MaxPointsPerSeries)
        {
            throw ApiException.InvalidArgument($"exceeded maximum resolution of {MaxPointsPerSeries} points per timeseries; try increasing the step ({stepSeconds}s)");
        }
        return stepMs;
    }
}
