using Pyroscope.Profiler;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary><c>builder.Services.AddPyroscope()</c>: the one line an app needs (no <c>using</c> either).</summary>
public static class PyroscopeServiceCollectionExtensions
{
    /// <summary>
    /// Profiles this app while its host runs and pushes to a Pyroscope server: upstream's agent
    /// environment variables first (<c>PYROSCOPE_APPLICATION_NAME</c>, <c>PYROSCOPE_SERVER_ADDRESS</c>,
    /// <c>PYROSCOPE_LABELS</c>, …, see <see cref="ProfilerEnvironment"/>), then <paramref name="configure"/>.
    /// Without an application name the entry assembly's name is used.
    /// </summary>
    public static IServiceCollection AddPyroscope(this IServiceCollection services, Action<ProfilerOptions>? configure = null) =>
        services.AddPyroscopeProfiler(options =>
        {
            ProfilerEnvironment.Apply(options);
            configure?.Invoke(options);
            if (string.IsNullOrEmpty(options.ApplicationName))
            {
                options.ApplicationName = System.Reflection.Assembly.GetEntryAssembly()?.GetName().Name ?? "dotnet-app";
            }
        });
}
