using Pyroscope.Compactor;
using Pyroscope.Hosting;
using Pyroscope.Hosting.Modules;

namespace Pyroscope.All;

/// <summary>The monolith by default (<c>-target=all</c>); any other target or comma list of targets too.</summary>
public static class Program
{
    /// <summary>Every component library: the three runnable components' own, plus the compactor.</summary>
    public static IReadOnlyList<ComponentLibrary> Components { get; } =
    [
        .. Distributor.Program.Components,
        .. Ingester.Program.Components,
        .. Querier.Program.Components,
        new(ModuleNames.Compactor, (services, configuration) => services.AddCompactor(configuration), _ => { }),
    ];

    public static Task<int> Main(string[] args) => PyroscopeProgram.RunAsync(args, ModuleNames.All, Components);
}
