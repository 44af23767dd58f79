using System.Globalization;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Pyroscope.Api;
using Pyroscope.Api.Tenancy;
using Pyroscope.Contracts.Querier.V1;
using Pyroscope.Model;
using Pyroscope.Model.Query;
using TypesV1 = Pyroscope.Contracts.Types.V1;

namespace Pyroscope.Querier;

/// <summary>
/// The legacy Pyroscope HTTP API (upstream pkg/querier/http.go) that the old UI and scripts use:
/// <c>/pyroscope/render</c>, <c>/pyroscope/render-diff</c>, <c>/pyroscope/label-values</c>, <c>/pyroscope/labels</c>.
/// </summary>
public static class LegacyRenderEndpoints
{
    public static IEndpointRouteBuilder MapLegacyRender(this IEndpointRouteBuilder endpoints, QueryEngine engine)
    {
        endpoints.MapGet("/pyroscope/render", (HttpContext http) => ApiErrors.HandleAsync(http, c => RenderAsync(c, engine)));
        endpoints.MapGet("/pyroscope/render-diff", (HttpContext http) => ApiErrors.HandleAsync(http, c => RenderDiffAsync(c, engine)));
        endpoints.MapGet("/pyroscope/label-values", (HttpContext http) => ApiErrors.HandleAsync(http, c => LabelValuesAsync(c, engine)));
        endpoints.MapGet("/pyroscope/labels", (HttpContext http) => ApiErrors.HandleAsync(http, c => LabelsAsync(c, engine)));
        return endpoints;
    }

    private static string Tenant(HttpContext http) => http.RequestServices.GetRequiredService<ITenantResolver>().Resolve(http);

    private static long Now(HttpContext http) => http.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow().ToUnixTimeMilliseconds();

    private static async Task RenderAsync(HttpContext http, QueryEngine engine)
    {
        var q = http.Request.Query;
        var tenant = Tenant(http);
        var (type, matchers) = QueryEngine.ParseTypedQuery(q["query"].ToString(), "query");
        var (from, until) = Range(http, "from", "until");
        var maxNodes = QueryEngine.MaxNodes(MaxNodesParam(q));
        var format = q["format"].ToString();
        if (format.Length == 0)
        {
            format = "json";
        }
        if (format is not ("json" or "pprof" or "collapsed"))
        {
            throw ApiException.InvalidArgument($"unsupported format \"{format}\" (supported: json, pprof, collapsed)");
        }
        var aggregation = q["aggregation"].ToString() switch
        {
            "" or "sum" => TypesV1.TimeSeriesAggregationType.Sum,
            "avg" or "average" => TypesV1.TimeSeriesAggregationType.Average,
            var other => throw ApiException.InvalidArgument($"unsupported aggregation \"{other}\" (supported: sum, avg)"),
        };
        var groupBy = q["groupBy"].ToString();

        if (format == "pprof")
        {
            // The same full-fidelity export as SelectMergeProfile (files, lines, mappings), never truncated.
            var profile = await engine.MergeProfileAsync(tenant, type, matchers, from, until, SampleSelection.All, 0, http.RequestAborted).ConfigureAwait(false);
            http.Response.ContentType = "application/octet-stream";
            http.Response.Headers.ContentDisposition = "attachment; filename=profile.pb";
            await http.Response.Body.WriteAsync(profile.ToByteArray(), http.RequestAborted).ConfigureAwait(false);
            return;
        }
        var tree = await engine.MergeAsync(tenant, matchers, from, until, SampleSelection.All, http.RequestAborted).ConfigureAwait(false);
        if (format == "collapsed")
        {
            http.Response.ContentType = "text/plain; charset=utf-8";
            await http.Response.WriteAsync(StackExports.ToCollapsed(tree, 0), http.RequestAborted).ConfigureAwait(false);
            return;
        }

        var stepSeconds = TimelineBuilder.StepSeconds(from, until);
        var graph = FlameGraphData.From(tree, maxNodes);
        var total = await engine.SeriesAsync(tenant, matchers, from, until, stepSeconds, [], aggregation, null, http.RequestAborted).ConfigureAwait(false);
        var timeline = TimelineBuilder.Build(total.Count == 1 ? total[0] : null, from, until, (long)stepSeconds);
        Dictionary<string, Timeline>? groups = null;
        if (groupBy.Length > 0)
        {
            groups = new Dictionary<string, Timeline>(StringComparer.Ordinal);
            var grouped = await engine.SeriesAsync(tenant, matchers, from, until, stepSeconds, [groupBy], aggregation, null, http.RequestAborted).ConfigureAwait(false);
            foreach (var s in grouped)
            {
                var key = s.Labels.Count > 0 ? s.Labels[0].Value : "*";
                groups[key] = TimelineBuilder.Build(s, from, until, (long)stepSeconds);
            }
        }
        http.Response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(http.Response.BodyWriter);
        FlamebearerJson.Write(writer, graph, type, timeline, groups);
        await http.Response.BodyWriter.FlushAsync(http.RequestAborted).ConfigureAwait(false);
    }

    private static async Task RenderDiffAsync(HttpContext http, QueryEngine engine)
    {
        var q = http.Request.Query;
        var tenant = Tenant(http);
        var (leftType, leftMatchers) = QueryEngine.ParseTypedQuery(q["leftQuery"].ToString(), "leftQuery");
        var (rightType, rightMatchers) = QueryEngine.ParseTypedQuery(q["rightQuery"].ToString(), "rightQuery");
        if (leftType.Id != rightType.Id)
        {
            throw ApiException.InvalidArgument($"leftQuery and rightQuery must select the same profile type ({leftType.Id} vs {rightType.Id})");
        }
        var (leftFrom, leftUntil) = Range(http, "leftFrom", "leftUntil");
        var (rightFrom, rightUntil) = Range(http, "rightFrom", "rightUntil");
        var maxNodes = QueryEngine.MaxNodes(MaxNodesParam(q));
        var left = await engine.MergeAsync(tenant, leftMatchers, leftFrom, leftUntil, SampleSelection.All, http.RequestAborted).ConfigureAwait(false);
        var right = await engine.MergeAsync(tenant, rightMatchers, rightFrom, rightUntil, SampleSelection.All, http.RequestAborted).ConfigureAwait(false);
        var diff = FlameGraphDiffData.From(left, right, maxNodes);
        http.Response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(http.Response.BodyWriter);
        FlamebearerJson.WriteDiff(writer, diff, leftType);
        await http.Response.BodyWriter.FlushAsync(http.RequestAborted).ConfigureAwait(false);
    }

    private static async Task LabelValuesAsync(HttpContext http, QueryEngine engine)
    {
        var q = http.Request.Query;
        var label = q["label"].ToString();
        if (label.Length == 0)
        {
            throw ApiException.InvalidArgument("label parameter is required");
        }
        var tenant = Tenant(http);
        var (start, end) = OptionalRange(http);
        var values = new List<string>();
        if (label == LabelNames.MetricName)
        {
            // The legacy UI lists "applications" by __name__: answer with profile type ids, as upstream.
            var types = await engine.ProfileTypesAsync(tenant, new ProfileTypesRequest { Start = start, End = end }, http.RequestAborted).ConfigureAwait(false);
            foreach (var t in types.ProfileTypes)
            {
                values.Add(t.ID);
            }
        }
        else
        {
            var request = new TypesV1.LabelValuesRequest { Name = label, Start = start, End = end };
            if (q["query"].ToString() is { Length: > 0 } query)
            {
                request.Matchers.Add(query);
            }
            var response = await engine.LabelValuesAsync(tenant, request, http.RequestAborted).ConfigureAwait(false);
            values.AddRange(response.Names);
        }
        await WriteJsonArrayAsync(http, values).ConfigureAwait(false);
    }

    private static async Task LabelsAsync(HttpContext http, QueryEngine engine)
    {
        var q = http.Request.Query;
        var tenant = Tenant(http);
        var (start, end) = OptionalRange(http);
        var request = new TypesV1.LabelNamesRequest { Start = start, End = end };
        if (q["query"].ToString() is { Length: > 0 } query)
        {
            request.Matchers.Add(query);
        }
        var response = await engine.LabelNamesAsync(tenant, request, http.RequestAborted).ConfigureAwait(false);
        var names = new List<string>();
        foreach (var n in response.Names)
        {
            if (!LabelNames.IsReserved(n))
            {
                names.Add(n);
            }
        }
        await WriteJsonArrayAsync(http, names).ConfigureAwait(false);
    }

    private static async Task WriteJsonArrayAsync(HttpContext http, List<string> values)
    {
        http.Response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(http.Response.BodyWriter);
        writer.WriteStartArray();
        foreach (var v in values)
        {
            writer.WriteStringValue(v);
        }
        writer.WriteEndArray();
        await writer.FlushAsync(http.RequestAborted).ConfigureAwait(false);
    }

    private static long? MaxNodesParam(IQueryCollection q)
    {
        long? result = null;
        foreach (var name in (ReadOnlySpan<string>)["max-nodes", "maxNodes"])
        {
            var text = q[name].ToString();
            if (text.Length == 0)
            {
                continue;
            }
            if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v))
            {
                throw ApiException.InvalidArgument($"invalid {name} \"{text}\": expected an integer");
            }
            if (v != 0)
            {
                result = v;
            }
        }
        return result;
    }

    private static (long From, long Until) Range(HttpContext http, string fromName, string untilName)
    {
        var now = Now(http);
        var from = Time(http, fromName, now, now - 3_600_000);
        var until = Time(http, untilName, now, now);
        return (from, until);
    }

    private static (long Start, long End) OptionalRange(HttpContext http)
    {
        var q = http.Request.Query;
        if (q["from"].ToString().Length == 0 && q["until"].ToString().Length == 0)
        {
            return (0, 0);
        }
        return Range(http, "from", "until");
    }

    private static long Time(HttpContext http, string name, long now, long fallback)
    {
        var text = http.Request.Query[name].ToString();
        if (text.Length == 0)
        {
            return fallback;
        }
        return QueryTime.TryParseMs(text, now, out var ms)
            ? QueryTime.ClampMs(ms)
            : throw ApiException.InvalidArgument($"invalid {name} \"{text}\": expected now, now-1h or unix seconds/milliseconds");
    }
}
