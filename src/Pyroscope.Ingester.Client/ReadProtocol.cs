using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Model;
using Pyroscope.Model.Query;
using ProtoLabels = Pyroscope.Contracts.Types.V1.Labels;
using ProtoLabelPair = Pyroscope.Contracts.Types.V1.LabelPair;
using ProtoMatcher = Pyroscope.Contracts.Ingester.V1.Matcher;
using MatchType = Pyroscope.Model.MatchType;
using ProtoMatchType = Pyroscope.Contracts.Ingester.V1.MatcherType;

namespace Pyroscope.Ingester.Client;

/// <summary>
/// Converts <see cref="IProfileReader"/> arguments and answers to and from the ingester.v1 read messages,
/// used on both ends of the querier → ingester calls. Input from the wire is validated here.
/// </summary>
public static class ReadProtocol
{
    public static ReadRange ToProto(TimeRange range) => new() { StartMs = range.StartMs, EndMs = range.EndMs };

    public static TimeRange FromProto(ReadRange? range) =>
        range is null ? throw new ArgumentException("the request has no time range") : new TimeRange(range.StartMs, range.EndMs);

    public static IEnumerable<ProtoMatcher> ToProto(IReadOnlyList<LabelMatcher> matchers)
    {
        var result = new ProtoMatcher[matchers.Count];
        for (var i = 0; i < result.Length; i++)
        {
            var matcher = matchers[i];
            result[i] = new ProtoMatcher
            {
                Name = matcher.Name,
                Value = matcher.Value,
                Type = matcher.Type switch
                {
                    MatchType.Equal => ProtoMatchType.Equal,
                    MatchType.NotEqual => ProtoMatchType.NotEqual,
                    MatchType.Regex => ProtoMatchType.Regex,
                    MatchType.NotRegex => ProtoMatchType.NotRegex,
                    _ => throw new ArgumentOutOfRangeException(nameof(matchers), matcher.Type, "unknown match type"),
                },
            };
        }
        return result;
    }

    public static IReadOnlyList<LabelMatcher> FromProto(IReadOnlyList<ProtoMatcher> matchers)
    {
        var result = new LabelMatcher[matchers.Count];
        for (var i = 0; i < result.Length; i++)
        {
            var matcher = matchers[i];
            var type = matcher.Type switch
            {
                ProtoMatchType.Equal => MatchType.Equal,
                ProtoMatchType.NotEqual => MatchType.NotEqual,
                ProtoMatchType.Regex => MatchType.Regex,
                ProtoMatchType.NotRegex => MatchType.NotRegex,
                _ => throw new ArgumentException($"matcher on '{matcher.Name}' has unknown match type {(int)matcher.Type}"),
            };
            // The regex is compiled by the constructor; an invalid one surfaces as ArgumentException.
            result[i] = new LabelMatcher(matcher.Name, type, matcher.Value);
        }
        return result;
    }

    public static SelectRequest ToProto(SelectQuery query)
    {
        var request = new SelectRequest { Range = ToProto(query.Range), HasSpanFilter = query.SpanIds is not null };
        request.Matchers.AddRange(ToProto(query.Matchers));
        if (query.SpanIds is { } spans)
        {
            request.SpanIds.AddRange(spans);
        }
        if (query.ExcludeProfileIds is { } excluded)
        {
            request.ExcludeProfileIds.AddRange(excluded);
        }
        if (query.ProfileIds is { } profiles)
        {
            request.HasProfileFilter = true;
            request.ProfileIds.AddRange(profiles);
        }
        if (query.TraceIds is { } traces)
        {
            request.HasTraceFilter = true;
            request.TraceIds.AddRange(traces);
        }
        if (query.CallSite is { } callSite)
        {
            request.CallSite.AddRange(callSite);
        }
        request.TotalsPerSpan = query.TotalsPerSpan;
        return request;
    }

    public static SelectQuery FromProto(SelectRequest request) =>
        new(FromProto(request.Matchers), FromProto(request.Range))
        {
            SpanIds = request.HasSpanFilter ? new HashSet<string>(request.SpanIds, StringComparer.Ordinal) : null,
            ExcludeProfileIds = request.ExcludeProfileIds.Count > 0 ? new HashSet<string>(request.ExcludeProfileIds, StringComparer.Ordinal) : null,
            ProfileIds = request.HasProfileFilter ? new HashSet<string>(request.ProfileIds, StringComparer.Ordinal) : null,
            TraceIds = request.HasTraceFilter ? new HashSet<string>(request.TraceIds, StringComparer.Ordinal) : null,
            CallSite = request.CallSite.Count > 0 ? [.. request.CallSite] : null,
            TotalsPerSpan = request.TotalsPerSpan,
        };

    public static ProtoLabels ToProto(LabelSet labels)
    {
        var result = new ProtoLabels();
        foreach (var label in labels.Labels)
        {
            result.Labels_.Add(new ProtoLabelPair { Name = label.Name, Value = label.Value });
        }
        return result;
    }

    public static LabelSet FromProto(ProtoLabels labels)
    {
        var result = new Label[labels.Labels_.Count];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = new Label(labels.Labels_[i].Name, labels.Labels_[i].Value);
        }
        return LabelSet.From(result);
    }

    /// <summary>Series are sent once each; totals refer to them by index.</summary>
    public static ProfileTotalsResponse ToProto(IReadOnlyList<ProfileTotal> totals)
    {
        var response = new ProfileTotalsResponse();
        var seriesIndex = new Dictionary<LabelSet, int>();
        foreach (var total in totals)
        {
            if (!seriesIndex.TryGetValue(total.Series, out var index))
            {
                index = seriesIndex.Count;
                seriesIndex.Add(total.Series, index);
                response.Series.Add(ToProto(total.Series));
            }
            response.Totals.Add(new ProfileTotalEntry
            {
                SeriesIndex = index,
                TimestampMs = total.TimestampMs,
                Value = total.Value,
                ProfileId = total.ProfileId,
                SpanId = total.SpanId,
                TraceIdHigh = (ulong)(total.TraceId >> 64),
                TraceIdLow = (ulong)total.TraceId,
            });
        }
        return response;
    }

    public static List<ProfileTotal> FromProto(ProfileTotalsResponse response)
    {
        var series = new LabelSet[response.Series.Count];
        for (var i = 0; i < series.Length; i++)
        {
            series[i] = FromProto(response.Series[i]);
        }
        var totals = new List<ProfileTotal>(response.Totals.Count);
        foreach (var entry in response.Totals)
        {
            if ((uint)entry.SeriesIndex >= (uint)series.Length)
            {
                throw new InvalidDataException($"profile total refers to series {entry.SeriesIndex}, but only {series.Length} were sent");
            }
            totals.Add(new ProfileTotal(series[entry.SeriesIndex], entry.TimestampMs, entry.Value, entry.ProfileId)
            {
                SpanId = entry.SpanId,
                TraceId = new UInt128(entry.TraceIdHigh, entry.TraceIdLow),
            });
        }
        return totals;
    }

    public static StatsResponse ToProto(ProfileStats stats) =>
        new() { DataIngested = stats.DataIngested, OldestProfileMs = stats.OldestProfileMs, NewestProfileMs = stats.NewestProfileMs };

    public static ProfileStats FromProto(StatsResponse response) =>
        new(response.DataIngested, response.OldestProfileMs, response.NewestProfileMs);
}
