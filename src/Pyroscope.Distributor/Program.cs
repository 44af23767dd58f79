using Pyroscope.Hosting;
using Pyroscope.Hosting.Modules;

namespace Pyroscope.Distributor;

/// <summary>Runs the distributor alone (<c>-target=distributor</c>); Pyroscope.All runs it together with the others.</summary>
public static class Program
{
    public static Task<int> Main(string[] args) => PyroscopeProgram.RunAsync(args, ModuleNames.Distributor, DistributorModule.Component);
}
