using Pyroscope.Hosting;
using Pyroscope.Hosting.Modules;

namespace Pyroscope.Ingester;

/// <summary>Runs the ingester alone (<c>-target=ingester</c>); Pyroscope.All runs it together with the others.</summary>
public static class Program
{
    /// <summary>The components this executable hands to the composition.</summary>
    public static IReadOnlyList<ComponentLibrary> Components { get; } =
        [new(ModuleNames.Ingester, (services, configuration) => services.AddIngester(configuration), endpoints => endpoints.MapIngester())];

    public static Task<int> Main(string[] args) => PyroscopeProgram.RunAsync(args, ModuleNames.Ingester, Components);
}
