using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Pyroscope.Api;
using Pyroscope.Api.Connect;
using Pyroscope.Api.Limits;
using Pyroscope.Contracts.Push.V1;
using Pyroscope.Contracts.Types.V1;
using Pyroscope.Distributor.Ingest;
using Pyroscope.Distributor.Push;
using Pyroscope.Formats.Ingest;
using Pyroscope.Formats.NetTrace;
using Pyroscope.Recording;

namespace Pyroscope.Distributor;

public static class DistributorExtensions
{
    /// <summary>
    /// Registers the distributor. Needs an <see cref="Model.IIngesterClient"/> from elsewhere (the local
    /// ingester in the monolith, the ring client otherwise). Ingest formats beyond the built-in ones join the
    /// <see cref="IngestFormatRegistry"/> by registering an <see cref="IIngestFormat"/>.
    /// </summary>
    public static IServiceCollection AddDistributor(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddPyroscopeApi(configuration);
        services.AddGrpc();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<DistributorMetrics>();
        services.TryAddSingleton<IngestionRateLimiter>();
        services.AddRecordingRuleEvaluation(configuration);
        services.TryAddSingleton<Distributor>();
        services.TryAddSingleton<PushHandler>();
        services.TryAddSingleton<IngestEndpoint>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IIngestFormat, NetTraceIngestFormat>());
        services.TryAddSingleton(sp => new IngestFormatRegistry(sp.GetServices<IIngestFormat>()));
        return services;
    }

    /// <summary>
    /// <c>POST /ingest</c>, <c>POST /pyroscope/ingest</c>, Connect <c>/push.v1.PusherService/{Push,GetFeatureFlags}</c>
    /// and the gRPC PusherService (gRPC-Web enabled; the host adds UseGrpcWeb), and <c>GET /recording-rules/metrics</c>.
    /// </summary>
    public static IEndpointRouteBuilder MapDistributor(this IEndpointRouteBuilder endpoints)
    {
        // Services are resolved per request so mapping never forces the ingester client into existence early.
        endpoints.MapPost("/ingest", static (HttpContext http) => http.RequestServices.GetRequiredService<IngestEndpoint>().HandleAsync(http));
        endpoints.MapPost("/pyroscope/ingest", static (HttpContext http) => http.RequestServices.GetRequiredService<IngestEndpoint>().HandleAsync(http));

        endpoints.MapConnectUnary<PushRequest, PushResponse>(
            "/push.v1.PusherService/Push",
            static (request, call, ct) => call.HttpContext.RequestServices.GetRequiredService<PushHandler>().PushAsync(call.TenantId, request, call.RequestBytes, ct),
            new ConnectUnaryOptions
            {
                RequestLimitFor = static call => RequestSizeLimits.Push(call.HttpContext.RequestServices.GetRequiredService<ITenantLimitsProvider>().For(call.TenantId)),
            });
        endpoints.MapConnectUnary<GetFeatureFlagsRequest, GetFeatureFlagsResponse>(
            "/push.v1.PusherService/GetFeatureFlags",
            (_, call, _) =>
            {
                _ = call.TenantId;
                return Task.FromResult(PushHandler.FeatureFlags());
            });

        endpoints.MapGrpcService<PusherGrpcService>().EnableGrpcWeb();
        // The counters of the recording rules, for Prometheus: each distributor serves what it received.
        endpoints.MapRecordingRulesMetrics();
        return endpoints;
    }
}
