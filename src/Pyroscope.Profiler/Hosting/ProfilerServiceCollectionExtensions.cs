using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Pyroscope.Profiler.Hosting;

namespace Pyroscope.Profiler;

public static class ProfilerServiceCollectionExtensions
{
    /// <summary>Profiles this host and pushes to a Pyroscope server while it runs (options from code only).</summary>
    public static IServiceCollection AddPyroscopeProfiler(this IServiceCollection services, Action<ProfilerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<ProfilerOptions>().Configure(configure);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, ProfilerHostedService>());
        return services;
    }

    /// <summary>
    /// What upstream does in monolith mode (<c>-self-profiling.disable-push=false</c>): the server
    /// profiles itself and pushes to its own distributor, so a new user sees a flame graph at once.
    /// </summary>
    public static IServiceCollection AddPyroscopeSelfProfiling(this IServiceCollection services, string applicationName, string serverAddress, IDictionary<string, string>? tags = null) =>
        services.AddPyroscopeProfiler(options =>
        {
            options.ApplicationName = applicationName;
            options.ServerAddress = serverAddress;
            if (tags is not null)
            {
                foreach (var (key, value) in tags)
                {
                    options.Tags[key] = value;
                }
            }
        });
}
