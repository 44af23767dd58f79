using Microsoft.Extensions.DependencyInjection.Extensions;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Model;
using Pyroscope.Ring;
using Pyroscope.Storage;
using Pyroscope.Storage.Reading;

namespace Pyroscope.Querier.Remote;

public static class RemoteReadServiceCollectionExtensions
{
    /// <summary>
    /// The reader of a querier without an in-process ingester: one object-store snapshot per query plus whatever
    /// every ingester in the ring holds beyond it (<see cref="StoreAndIngestersReader"/>), registered as <see cref="IProfileReader"/>
    /// with TryAdd. Adds the ring and the object store.
    /// </summary>
    public static IServiceCollection AddStoreAndIngestersReader(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddRing(configuration);
        services.AddObjectStore(configuration);
        // Registers BlockStoreReader; its own TryAdd of IProfileReader must not win, so ours goes first.
        services.TryAddSingleton<IngesterChannelPool>();
        services.TryAddSingleton<RemoteIngestersReader>();
        services.TryAddSingleton<StoreAndIngestersReader>();
        services.TryAddSingleton<IProfileReader>(sp => sp.GetRequiredService<StoreAndIngestersReader>());
        services.AddBlockStoreReader(configuration);
        return services;
    }
}
