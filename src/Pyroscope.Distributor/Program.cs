using Pyroscope.Hosting;
using Pyroscope.Hosting.Modules;

namespace Pyroscope.Distributor;

/// <summary>Runs the distributor alone (<c>-target=distributor</c>); Pyroscope.All runs it together with the others.</summary>
public static class Program
{
    /// <summary>The components this executable hands to the composition.</summary>
    public static IReadOnlyList<ComponentLibrary> Components { get; } =
        [new(ModuleNames.Distributor, (services, configuration) => services.AddDistributor(configuration), endpoints => endpoints.MapDistributor())];

    public static Task<int> Main(string[] args) => PyroscopeProgram.RunAsync(args, ModuleNames.Distributor, Components);
}
