using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Pyroscope.Model;
using Pyroscope.Storage.ObjectStore;
using Pyroscope.Storage.Reading;

namespace Pyroscope.Storage;

public static class StorageServiceCollectionExtensions
{
    /// <summary>
    /// The <c>storage</c> module: one <see cref="IObjectStore"/> from the <c>storage</c> config section, and the hosted
    /// service that waits until it is usable (<see cref="ObjectStoreAccess"/>, also health check "storage", tag "ready").
    /// </summary>
    public static IServiceCollection AddObjectStore(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(_ => StorageOptions.From(configuration));
        services.TryAddSingleton<IObjectStore>(sp => sp.GetRequiredService<StorageOptions>().CreateStore());
        if (!services.Any(static d => d.ServiceType == typeof(ObjectStoreAccess)))
        {
            services.AddSingleton<ObjectStoreAccess>();
            services.AddHostedService(static sp => sp.GetRequiredService<ObjectStoreAccess>());
            services.AddHealthChecks().Add(new HealthCheckRegistration(ObjectStoreAccess.HealthCheckName,
                static sp => sp.GetRequiredService<ObjectStoreAccess>(), failureStatus: null, tags: ["ready"]));
        }
        return services;
    }

    /// <summary>
    /// A reader over object storage only (a querier process without a local ingester). Registers
    /// <see cref="BlockStoreReader"/>; which <see cref="IProfileReader"/> a querier reads through is the composition's choice.
    /// </summary>
    public static IServiceCollection AddBlockStoreReader(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddObjectStore(configuration);
        services.TryAddSingleton(sp => new BlockStoreReader(
            sp.GetRequiredService<IObjectStore>(), new BlockStoreReaderOptions(), sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILogger<BlockStoreReader>>()));
        return services;
    }
}
