using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Pyroscope.Ring.Kv;

namespace Pyroscope.Ring;

/// <summary>
/// JSON body of GET /ring with Accept: application/json. <c>Version</c> is the KV store's; <c>InUseVersion</c> is the
/// version this process routes and reads by (behind while its ring client catches up, or while the KV store is down).
/// </summary>
internal sealed record RingStatusJson(long Version, long InUseVersion, DateTimeOffset Now, List<RingStatusShard> Shards);

internal sealed record RingStatusShard(
    string Id,
    string State,
    bool Healthy,
    string Address,
    string GrpcAddress,
    string? Zone,
    DateTimeOffset Timestamp,
    DateTimeOffset RegisteredTimestamp,
    int NumTokens,
    double Ownership,
    uint[] Tokens);

/// <summary>The /ring page: members, their state and heartbeat, token ownership; and "Forget" for dead members.</summary>
public static class RingStatusEndpoint
{
    public static IEndpointRouteBuilder MapRingStatus(this IEndpointRouteBuilder endpoints, string pattern = "/ring")
    {
        endpoints.MapGet(pattern, RenderAsync).ExcludeFromDescription();
        endpoints.MapPost(pattern, ForgetAsync).ExcludeFromDescription().DisableAntiforgery();
        return endpoints;
    }

    private static async Task RenderAsync(HttpContext context)
    {
        var services = context.RequestServices;
        var options = services.GetRequiredService<RingOptions>();
        var ring = services.GetRequiredService<IRing>();
        var kv = services.GetRequiredService<IRingKvStore>();
        string? warning = null;
        RingSnapshot snapshot;
        try
        {
            var (version, descriptor) = await kv.GetRingAsync(options.Key, context.RequestAborted);
            snapshot = new RingSnapshot(version, descriptor);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            warning = $"Reading the ring from the KV store failed ({e.Message}); showing the last cached version.";
            snapshot = ring.Current;
        }

        var nowMs = ring.NowMs;
        var ownership = snapshot.Ownership();
        var shards = new List<RingStatusShard>(snapshot.Instances.Count);
        for (var i = 0; i < snapshot.Instances.Count; i++)
        {
            var desc = snapshot.Instances[i];
            shards.Add(new RingStatusShard(
                desc.Id,
                desc.State.ToString().ToUpperInvariant(),
                snapshot.IsHealthy(i, RingOperation.Read, nowMs, options.HeartbeatTimeout),
                desc.Addr,
                desc.GrpcAddr,
                desc.Zone,
                DateTimeOffset.FromUnixTimeMilliseconds(desc.HeartbeatTimestampMs),
                DateTimeOffset.FromUnixTimeMilliseconds(desc.RegisteredTimestampMs),
                desc.Tokens.Length,
                ownership[i],
                desc.Tokens));
        }
        var status = new RingStatusJson(snapshot.Version, ring.Current.Version, DateTimeOffset.FromUnixTimeMilliseconds(nowMs), shards);

        if (WantsJson(context.Request))
        {
            context.Response.ContentType = "application/json";
            await JsonSerializer.SerializeAsync(context.Response.Body, status, RingJsonContext.Default.RingStatusJson, context.RequestAborted);
            return;
        }
        context.Response.ContentType = "text/html; charset=utf-8";
        await context.Response.WriteAsync(RenderHtml(status, warning, context.Request.Query.ContainsKey("tokens")), context.RequestAborted);
    }

    private static async Task ForgetAsync(HttpContext context)
    {
        var services = context.RequestServices;
        var options = services.GetRequiredService<RingOptions>();
        var kv = services.GetRequiredService<IRingKvStore>();
        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var id = form["forget"].ToString();
        if (string.IsNullOrEmpty(id))
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync("missing form field 'forget' (the id of the instance to remove)", context.RequestAborted);
            return;
        }
        await kv.CasRingAsync(options.Key, ring => ring.Instances.Remove(id), context.RequestAborted);
        context.Response.Redirect(context.Request.PathBase + context.Request.Path, permanent: false);
        context.Response.StatusCode = StatusCodes.Status303SeeOther;
    }

    private static bool WantsJson(HttpRequest request)
    {
        foreach (var accept in request.Headers.Accept)
        {
            if (accept is not null && accept.Contains("application/json", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    private static string RenderHtml(RingStatusJson status, string? warning, bool showTokens)
    {
        static string E(string? s) => WebUtility.HtmlEncode(s ?? "");
        static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

        var html = new StringBuilder(4096);
        html.Append("""
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>Ingester ring status</title>
            <style>body{font-family:sans-serif}table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left}
            tr.unhealthy{background:#fdd}.tokens{font-family:monospace;font-size:small;max-width:60em;word-wrap:break-word}</style>
            </head><body><h1>Ingester ring status</h1>
            """);
        html.Append("<p>Current time: ").Append(Time(status.Now)).Append(" &middot; ring version ").Append(status.Version).Append("</p>");
        if (warning is not null)
        {
            html.Append("<p><strong>").Append(E(warning)).Append("</strong></p>");
        }
        html.Append("<form method=\"post\"><table><thead><tr><th>Instance ID</th><th>Availability Zone</th><th>State</th><th>Address</th><th>gRPC Address</th>")
            .Append("<th>Registered At</th><th>Last Heartbeat</th><th>Tokens</th><th>Ownership</th><th>Actions</th></tr></thead><tbody>");
        foreach (var shard in status.Shards)
        {
            var ago = status.Now - shard.Timestamp;
            html.Append(shard.Healthy ? "<tr>" : "<tr class=\"unhealthy\">")
                .Append("<td>").Append(E(shard.Id)).Append("</td>")
                .Append("<td>").Append(E(shard.Zone)).Append("</td>")
                .Append("<td>").Append(E(shard.State)).Append(shard.Healthy || shard.State == "LEFT" ? "" : " (unhealthy)").Append("</td>")
                .Append("<td>").Append(E(shard.Address)).Append("</td>")
                .Append("<td>").Append(E(shard.GrpcAddress)).Append("</td>")
                .Append("<td>").Append(Time(shard.RegisteredTimestamp)).Append("</td>")
                .Append("<td>").Append(Time(shard.Timestamp)).Append(" (").Append(ago.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)).Append("s ago)</td>")
                .Append("<td>").Append(shard.NumTokens).Append("</td>")
                .Append("<td>").Append((shard.Ownership * 100).ToString("0.00", CultureInfo.InvariantCulture)).Append("%</td>")
                .Append("<td><button type=\"submit\" name=\"forget\" value=\"").Append(E(shard.Id)).Append("\">Forget</button></td></tr>");
        }
        html.Append("</tbody></table></form>");
        if (showTokens)
        {
            foreach (var shard in status.Shards)
            {
                html.Append("<h3>").Append(E(shard.Id)).Append("</h3><p class=\"tokens\">").AppendJoin(' ', shard.Tokens).Append("</p>");
            }
        }
        else
        {
            html.Append("<p><a href=\"?tokens=1\">Show tokens</a></p>");
        }
        html.Append("</body></html>");
        return html.ToString();
    }
}
