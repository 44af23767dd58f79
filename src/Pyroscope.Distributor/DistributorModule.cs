using Pyroscope.Hosting;
using Pyroscope.Hosting.Modules;

namespace Pyroscope.Distributor;

/// <summary>How the module table starts the distributor: the component's own registration and endpoints.</summary>
public static class DistributorModule
{
    public static ComponentModule Component { get; } = new(ModuleNames.Distributor, Init);

    private static void Init(ModuleContext context)
    {
    }
}
