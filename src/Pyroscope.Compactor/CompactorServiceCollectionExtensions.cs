using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Pyroscope.Api;
using Pyroscope.Api.Limits;
using Pyroscope.Storage;
using Pyroscope.Storage.ObjectStore;

namespace Pyroscope.Compactor;

public static class CompactorServiceCollectionExtensions
{
    /// <summary>
    /// Registers the compactor and its background service: compaction, replica de-duplication and retention.
    /// Each tenant's retention is its <c>compactor_blocks_retention_period</c> limit (overridable per tenant), read
    /// from the same tenant limits the distributor and ingester use. Config: <c>storage</c>, <c>compactor</c>, <c>limits</c>.
    /// </summary>
    public static IServiceCollection AddCompactor(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddObjectStore(configuration);
        services.AddTenantLimits(configuration);
        services.TryAddSingleton(_ => CompactorOptions.From(configuration));
        services.TryAddSingleton(sp =>
        {
            var limits = sp.GetRequiredService<ITenantLimitsProvider>();
            return new Compactor(sp.GetRequiredService<IObjectStore>(), sp.GetRequiredService<CompactorOptions>(),
                sp.GetRequiredService<TimeProvider>(), sp.GetService<ILogger<Compactor>>())
            {
                RetentionForTenant = tenant => limits.For(tenant).CompactorBlocksRetentionPeriod,
            };
        });
        services.AddHostedService<CompactorService>();
        return services;
    }
}
