using Pyroscope.Hosting;
using Pyroscope.Hosting.Modules;

namespace Pyroscope.Ingester;

/// <summary>How the module table starts the ingester: the component's own registration and endpoints.</summary>
public static class IngesterModule
{
    public static ComponentModule Component { get; } = new(ModuleNames.Ingester, Init);

    private static void Init(ModuleContext context)
    {
    }
}
