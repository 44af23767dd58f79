using Pyroscope.Hosting;
using Pyroscope.Hosting.Modules;

namespace Pyroscope.Querier;

/// <summary>Runs the querier alone (<c>-target=querier</c>); Pyroscope.All runs it together with the others.</summary>
public static class Program
{
    public static Task<int> Main(string[] args) => PyroscopeProgram.RunAsync(args, ModuleNames.Querier, QuerierModule.Component);
}
