using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Pyroscope.Api;
using Pyroscope.Api.Tenancy;

namespace Pyroscope.Recording;

public static class RecordingRulesEndpoints
{
    /// <summary>Where Prometheus scrapes the series a process has recorded for a tenant.</summary>
    public const string MetricsPath = "/recording-rules/metrics";

    /// <summary>
    /// Registers rule evaluation on the write path: the cache, the recorder, and, unless a tenant-settings store in
    /// this process registers itself as the <see cref="IRecordingRuleSource"/>, the Connect client to
    /// <c>tenant_settings.recording_rules.client_address</c>. Idempotent.
    /// </summary>
    public static IServiceCollection AddRecordingRuleEvaluation(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddRecordingRuleSource(configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<RecordingRulesCache>();
        services.TryAddSingleton<RecordingRulesRecorder>();
        return services;
    }

    /// <summary>The options and the fallback rule source (the Connect client); an in-process store registered with AddSingleton wins.</summary>
    public static IServiceCollection AddRecordingRuleSource(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddTenancy(configuration);
        services.TryAddSingleton(_ => RecordingRulesOptions.From(configuration));
        services.TryAddSingleton<IRecordingRuleSource>(sp => new ConnectRecordingRuleSource(sp.GetRequiredService<RecordingRulesOptions>()));
        return services;
    }

    /// <summary>
    /// <c>GET /recording-rules/metrics</c>: the tenant's recorded counters in the Prometheus text format. The tenant
    /// comes from <c>X-Scope-OrgID</c>, or from the <c>tenant</c> query parameter for scrapers that cannot send
    /// headers (Prometheus' <c>params</c>); with multitenancy off it is always "anonymous".
    /// </summary>
    public static IEndpointRouteBuilder MapRecordingRulesMetrics(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(MetricsPath, static (HttpContext http) => ApiErrors.HandleAsync(http, ServeAsync));
        return endpoints;
    }

    private static async Task ServeAsync(HttpContext http)
    {
        var tenants = http.RequestServices.GetRequiredService<ITenantResolver>();
        var header = http.Request.Headers[Model.OrgIdHeader.HttpName].ToString();
        var tenant = tenants.MultitenancyEnabled && header.Length == 0 && http.Request.Query["tenant"].ToString() is { Length: > 0 } fromQuery
            ? TenantId.Validate(fromQuery)
            : tenants.Resolve(http);
        var rules = await http.RequestServices.GetRequiredService<RecordingRulesCache>().GetAsync(tenant).ConfigureAwait(false);
        var text = new StringBuilder();
        PrometheusExposition.Write(rules, text);
        http.Response.ContentType = PrometheusExposition.ContentType;
        await http.Response.WriteAsync(text.ToString(), http.RequestAborted).ConfigureAwait(false);
    }
}
