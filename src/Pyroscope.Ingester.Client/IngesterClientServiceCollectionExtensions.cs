using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Model;
using Pyroscope.Ring;

namespace Pyroscope.Distributor.Remote;

public static class RemoteIngesterServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="RingIngesterClient"/> as the <see cref="IIngesterClient"/> with TryAdd, so an in-process
    /// ingester's local client (registered with AddSingleton, before or after) wins in the monolith. Needs the
    /// ring (<c>AddRing</c>); use the overload taking configuration to add it too.
    /// </summary>
    public static IServiceCollection AddRemoteIngesterClient(this IServiceCollection services)
    {
        services.TryAddSingleton<IngesterChannelPool>();
        services.TryAddSingleton<RingIngesterClient>();
        services.TryAddSingleton<IIngesterClient>(sp => sp.GetRequiredService<RingIngesterClient>());
        return services;
    }

    public static IServiceCollection AddRemoteIngesterClient(this IServiceCollection services, IConfiguration configuration) =>
        services.AddRing(configuration).AddRemoteIngesterClient();
}
