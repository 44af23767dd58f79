using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Pyroscope.Api;
using Pyroscope.Api.Connect;
using Pyroscope.Contracts.Querier.V1;
using Pyroscope.Contracts.Recording.V1;
using Pyroscope.Recording;
using Pprof = Pyroscope.Contracts.Google.V1;
using TypesV1 = Pyroscope.Contracts.Types.V1;

namespace Pyroscope.Querier;

public static class QuerierEndpoints
{
    public const string ServicePath = "/querier.v1.QuerierService/";
    public const string RecordedSeriesPath = "/recording.v1.RecordedSeriesService/";

    /// <summary>
    /// Registers the querier: its engine, tenancy and limits (Pyroscope.Api) and gRPC. The
    /// <see cref="Model.IProfileReader"/> it reads through must be registered by the storage side.
    /// </summary>
    public static IServiceCollection AddQuerier(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddPyroscopeApi(configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<QueryEngine>();
        // Recording rules come from tenant-settings in this process when it runs here, else over Connect.
        services.AddRecordingRuleSource(configuration);
        services.TryAddSingleton<RecordedSeriesQuery>();
        services.AddGrpc();
        foreach (var flag in (string[])[FeatureFlagNames.SeriesExemplars, FeatureFlagNames.SelectHeatmap, FeatureFlagNames.ProfileIdSelector, FeatureFlagNames.TraceIdSelector])
        {
            services.AddFeatureFlag(flag);
        }
        return services;
    }

    /// <summary>
    /// Maps querier.v1 over Connect (<c>/querier.v1.QuerierService/*</c>), gRPC / gRPC-Web (the host
    /// must call <c>app.UseGrpcWeb()</c> for the latter) and the legacy <c>/pyroscope/*</c> render API.
    /// </summary>
    public static IEndpointRouteBuilder MapQuerier(this IEndpointRouteBuilder endpoints)
    {
        var engine = endpoints.ServiceProvider.GetRequiredService<QueryEngine>();
        endpoints.MapConnectUnary<ProfileTypesRequest, ProfileTypesResponse>(ServicePath + "ProfileTypes",
            (r, c, ct) => engine.ProfileTypesAsync(c.TenantId, r, ct));
        endpoints.MapConnectUnary<TypesV1.LabelValuesRequest, TypesV1.LabelValuesResponse>(ServicePath + "LabelValues",
            (r, c, ct) => engine.LabelValuesAsync(c.TenantId, r, ct));
        endpoints.MapConnectUnary<TypesV1.LabelNamesRequest, TypesV1.LabelNamesResponse>(ServicePath + "LabelNames",
            (r, c, ct) => engine.LabelNamesAsync(c.TenantId, r, ct));
        endpoints.MapConnectUnary<SeriesRequest, SeriesResponse>(ServicePath + "Series",
            (r, c, ct) => engine.SeriesAsync(c.TenantId, r, ct));
        endpoints.MapConnectUnary<SelectMergeStacktracesRequest, SelectMergeStacktracesResponse>(ServicePath + "SelectMergeStacktraces",
            (r, c, ct) => engine.SelectMergeStacktracesAsync(c.TenantId, r, ct));
        endpoints.MapConnectUnary<SelectMergeSpanProfileRequest, SelectMergeSpanProfileResponse>(ServicePath + "SelectMergeSpanProfile",
            (r, c, ct) => engine.SelectMergeSpanProfileAsync(c.TenantId, r, ct));
        endpoints.MapConnectUnary<SelectMergeProfileRequest, Pprof.Profile>(ServicePath + "SelectMergeProfile",
            (r, c, ct) => engine.SelectMergeProfileAsync(c.TenantId, r, ct));
        endpoints.MapConnectUnary<SelectSeriesRequest, SelectSeriesResponse>(ServicePath + "SelectSeries",
            (r, c, ct) => engine.SelectSeriesAsync(c.TenantId, r, ct));
        endpoints.MapConnectUnary<DiffRequest, DiffResponse>(ServicePath + "Diff",
            (r, c, ct) => engine.DiffAsync(c.TenantId, r, ct));
        endpoints.MapConnectUnary<TypesV1.GetProfileStatsRequest, TypesV1.GetProfileStatsResponse>(ServicePath + "GetProfileStats",
            (r, c, ct) => engine.GetProfileStatsAsync(c.TenantId, ct));
        endpoints.MapConnectUnary<AnalyzeQueryRequest, AnalyzeQueryResponse>(ServicePath + "AnalyzeQuery",
            (r, c, ct) => engine.AnalyzeQueryAsync(c.TenantId, r, ct));
        endpoints.MapConnectUnary<SelectHeatmapRequest, SelectHeatmapResponse>(ServicePath + "SelectHeatmap",
            (r, c, ct) => engine.SelectHeatmapAsync(c.TenantId, r, ct));

        endpoints.MapGrpcService<QuerierGrpcService>().EnableGrpcWeb();

        var recorded = endpoints.ServiceProvider.GetRequiredService<RecordedSeriesQuery>();
        endpoints.MapConnectUnary<SelectRecordedSeriesRequest, SelectRecordedSeriesResponse>(RecordedSeriesPath + "SelectRecordedSeries",
            (r, c, ct) => recorded.SelectAsync(c.TenantId, r, ct));
        endpoints.MapGrpcService<RecordedSeriesGrpcService>().EnableGrpcWeb();
        endpoints.MapLegacyRender(engine);
        return endpoints;
    }
}
