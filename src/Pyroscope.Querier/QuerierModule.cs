using Pyroscope.Hosting;
using Pyroscope.Hosting.Modules;

namespace Pyroscope.Querier;

/// <summary>How the module table starts the querier: the component's own registration and endpoints.</summary>
public static class QuerierModule
{
    public static ComponentModule Component { get; } = new(ModuleNames.Querier, Init);

    private static void Init(ModuleContext context)
    {
    }
}
