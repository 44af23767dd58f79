using Pyroscope.Hosting;
using Pyroscope.Hosting.Modules;

namespace Pyroscope.Ingester;

/// <summary>Runs the ingester alone (<c>-target=ingester</c>); Pyroscope.All runs it together with the others.</summary>
public static class Program
{
    public static Task<int> Main(string[] args) => PyroscopeProgram.RunAsync(args, ModuleNames.Ingester, IngesterModule.Component);
}
