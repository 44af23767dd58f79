using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Pyroscope.Ring;
using Pyroscope.Storage;

namespace Pyroscope.Ingester.Client;

/// <summary>
/// Registers the remote side of the ingester API as concrete types. Which implementation the seams
/// (<c>IIngesterClient</c>, <c>IProfileReader</c>) get is decided by the composition, not here. Each call
/// is idempotent, so a process with both a distributor and a querier shares one channel pool.
/// </summary>
public static class IngesterClientServiceCollectionExtensions
{
    /// <summary><see cref="RingIngesterClient"/> (pushes placed by the ring) and the channel pool; adds the ring.</summary>
    public static IServiceCollection AddRingIngesterClient(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddRing(configuration);
        services.TryAddSingleton<IngesterChannelPool>();
        services.TryAddSingleton<RingIngesterClient>();
        return services;
    }

    /// <summary>
    /// <see cref="StoreAndIngestersReader"/> (one object-store snapshot per query plus whatever the ring's
    /// ingesters hold beyond it), <see cref="RemoteIngestersReader"/> and the channel pool; adds the ring and the
    /// object store's block reader.
    /// </summary>
    public static IServiceCollection AddStoreAndIngestersReader(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddRing(configuration);
        services.AddBlockStoreReader(configuration);
        services.TryAddSingleton<IngesterChannelPool>();
        services.TryAddSingleton<RemoteIngestersReader>();
        services.TryAddSingleton<StoreAndIngestersReader>();
        return services;
    }
}
