using Microsoft.Extensions.DependencyInjection.Extensions;
using Pyroscope.Hosting;
using Pyroscope.Hosting.Modules;
using Pyroscope.Ingester.Client;
using Pyroscope.Model;
using Pyroscope.WebUI;

namespace Pyroscope.Querier;

/// <summary>How the module table starts the querier: the component's own registration and endpoints.</summary>
public static class QuerierModule
{
    public static ComponentModule Component { get; } = new(ModuleNames.Querier, Init);

    private static void Init(ModuleContext context)
    {
        context.Services.AddQuerier(context.Configuration);
        if (!context.ActiveModules.Contains(ModuleNames.Ingester))
        {
            // No ingester in this process: read the blocks every ingester uploads to the shared store, plus
            // what the ring's ingesters hold but have not uploaded yet.
            context.Services.AddStoreAndIngestersReader(context.Configuration);
            // Replace, not add: the block store reader registers itself as the reader unless one exists.
            context.Services.Replace(ServiceDescriptor.Singleton<IProfileReader>(sp => sp.GetRequiredService<StoreAndIngestersReader>()));
        }
        // The web UI ships with the querier (as upstream serves it from the querier's HTTP port).
        context.MapEndpoints(app => app.MapQuerier().MapPyroscopeWebUI());
    }
}
