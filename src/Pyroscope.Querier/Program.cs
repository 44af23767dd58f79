using Pyroscope.Hosting;
using Pyroscope.Hosting.Modules;
using Pyroscope.Settings;
using Pyroscope.WebUI;

namespace Pyroscope.Querier;

/// <summary>
/// Runs the querier alone (<c>-target=querier</c>); Pyroscope.All runs it together with the others. It also
/// carries tenant-settings, which Grafana's Profiles Drilldown asks for at the querier's address.
/// </summary>
public static class Program
{
    /// <summary>The components this executable hands to the composition.</summary>
    public static IReadOnlyList<ComponentLibrary> Components { get; } =
    [
        new(ModuleNames.Querier, (services, configuration) => services.AddQuerier(configuration), endpoints => endpoints.MapQuerier().MapPyroscopeWebUI()),
        new(ModuleNames.TenantSettings, (services, configuration) => services.AddTenantSettings(configuration), endpoints => endpoints.MapTenantSettings()),
    ];

    public static Task<int> Main(string[] args) => PyroscopeProgram.RunAsync(args, ModuleNames.Querier, Components);
}
