using Pyroscope.Distributor;
using Pyroscope.Hosting;
using Pyroscope.Hosting.Modules;
using Pyroscope.Ingester;
using Pyroscope.Querier;

namespace Pyroscope.All;

/// <summary>The monolith by default (<c>-target=all</c>); any other target or comma list of targets too.</summary>
public static class Program
{
    public static Task<int> Main(string[] args) =>
        PyroscopeProgram.RunAsync(args, ModuleNames.All, DistributorModule.Component, IngesterModule.Component, QuerierModule.Component);
}
