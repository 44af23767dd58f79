using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Pyroscope.Ring.Kv;

namespace Pyroscope.Ring;

public static class RingServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="RingOptions"/> (from the keys documented there), the KV store chosen by ring:store,
    /// and the ring client (<see cref="IRing"/>, also a hosted service that follows changes). Idempotent.
    /// </summary>
    public static IServiceCollection AddRing(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(_ => RingOptions.FromConfiguration(configuration));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IRingKvStore>(sp =>
        {
            var options = sp.GetRequiredService<RingOptions>();
            return options.Store switch
            {
                RingStore.Redis => new RedisRingKvStore(options.RedisAddress!, options.PollInterval, sp.GetRequiredService<ILogger<RedisRingKvStore>>()),
                _ => new InMemoryRingKvStore(),
            };
        });
        services.TryAddSingleton<RingClient>();
        services.TryAddSingleton<IRing>(sp => sp.GetRequiredService<RingClient>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, RingClientHostedService>());
        return services;
    }

    /// <summary>
    /// Registers the ring (see <see cref="AddRing"/>) and a <see cref="RingLifecycler"/> hosted service that keeps
    /// this instance in it. <paramref name="instanceInfo"/> defaults to the ring:instance_* settings. The lifecycler
    /// joins once the host has started (its ports answer), and hands over through the <see cref="IRingLeaveHandOver"/>
    /// registered, if any, before it leaves.
    /// </summary>
    public static IServiceCollection AddRingLifecycler(
        this IServiceCollection services,
        IConfiguration configuration,
        Func<IServiceProvider, RingInstanceInfo>? instanceInfo = null)
    {
        services.AddRing(configuration);
        services.TryAddSingleton(sp => new RingLifecycler(
            sp.GetRequiredService<IRingKvStore>(),
            sp.GetRequiredService<RingOptions>(),
            instanceInfo?.Invoke(sp) ?? sp.GetRequiredService<RingOptions>().DefaultInstanceInfo(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<RingLifecycler>>(),
            sp.GetService<IRingLeaveHandOver>(),
            HostStarted(sp.GetService<IHostApplicationLifetime>())));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, RingLifecyclerHostedService>());
        return services;
    }

    /// <summary>Completes when the host has started every hosted service, its server included.</summary>
    private static Task? HostStarted(IHostApplicationLifetime? lifetime)
    {
        if (lifetime is null)
        {
            return null;
        }
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        return started.Task;
    }

    // Thin forwarders so TryAddEnumerable can tell the registrations apart and the singletons stay resolvable by type.
    private sealed class RingClientHostedService(RingClient client) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => client.StartAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => client.StopAsync(cancellationToken);
    }

    private sealed class RingLifecyclerHostedService(RingLifecycler lifecycler) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => lifecycler.StartAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => lifecycler.StopAsync(cancellationToken);
    }
}
