using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Pyroscope.Api;
using Pyroscope.Api.Limits;
using Pyroscope.Model;
using Pyroscope.Ring;
using Pyroscope.Storage;
using Pyroscope.Storage.ObjectStore;
using Pyroscope.Storage.Reading;

namespace Pyroscope.Ingester;

public static class IngesterExtensions
{
    /// <summary>
    /// Registers the ingester: the engine (constructed without I/O), one hosted service that replays the WAL at
    /// start, runs the flush and upload loop and flushes at shutdown (<see cref="IngesterLifecycle"/>), per-tenant
    /// series limits (overrides configuration + ring), and the in-process side of two seams, keyed
    /// <see cref="InProcessSeams.Ingester"/>: an <see cref="IIngesterClient"/> for a distributor in the same process
    /// and an <see cref="IProfileReader"/> that is the complete view (head + local blocks + object storage, each
    /// profile once) for a querier in the same process. Config: <c>pyroscopedb</c> and <c>storage</c>.
    /// </summary>
    public static IServiceCollection AddIngester(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddObjectStore(configuration);
        services.AddBlockStoreReader(configuration);
        services.TryAddSingleton(_ => PyroscopeDbOptions.From(configuration));
        services.TryAddSingleton(_ => new IngesterOptions());
        // The ingester enforces series limits itself, so it reads the overrides even when it runs alone.
        services.AddTenantLimits(configuration);
        services.TryAddSingleton<ISeriesLimits>(sp => new TenantSeriesLimits(sp.GetRequiredService<ITenantLimitsProvider>(), sp.GetService<IRing>()));
        services.TryAddSingleton(sp =>
        {
            var engine = new IngesterEngine(sp.GetRequiredService<PyroscopeDbOptions>(), sp.GetRequiredService<IngesterOptions>(), sp.GetRequiredService<IObjectStore>(),
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>().CreateLogger("Pyroscope.Ingester"),
                sp.GetService<System.Diagnostics.Metrics.IMeterFactory>())
            {
                SeriesLimits = sp.GetRequiredService<ISeriesLimits>(),
            };
            var store = sp.GetRequiredService<BlockStoreReader>();
            engine.BlockUploaded += (tenant, _) => store.Invalidate(tenant);
            return engine;
        });
        services.TryAddSingleton(sp => new IngesterReader(sp.GetRequiredService<IngesterEngine>()));
        services.TryAddSingleton(sp => new CombinedReader(sp.GetRequiredService<IngesterEngine>(), sp.GetRequiredService<BlockStoreReader>()));
        services.TryAddKeyedSingleton<IProfileReader>(InProcessSeams.Ingester, (sp, _) => sp.GetRequiredService<CombinedReader>());
        services.TryAddKeyedSingleton<IIngesterClient, LocalIngesterClient>(InProcessSeams.Ingester);
        services.AddGrpc();
        services.AddHostedService<IngesterLifecycle>();
        services.AddHealthChecks().Add(new HealthCheckRegistration(WalHealthCheck.Name,
            static sp => new WalHealthCheck(sp.GetRequiredService<IngesterEngine>()), failureStatus: null, tags: ["ready"]));
        // A graceful stop uploads everything before the ring lifecycler (when there is one) marks the ingester LEFT.
        services.TryAddSingleton<IRingLeaveHandOver, IngesterHandOver>();
        return services;
    }

    /// <summary>Maps the internal gRPC <c>ingester.v1.IngesterService</c> (Push) used by remote distributors.</summary>
    public static IEndpointRouteBuilder MapIngester(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGrpcService<IngesterGrpcService>();
        return endpoints;
    }
}
