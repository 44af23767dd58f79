using Pyroscope.Hosting;
using Pyroscope.Hosting.Modules;
using Pyroscope.Ingester.Client;
using Pyroscope.Model;

namespace Pyroscope.Distributor;

/// <summary>How the module table starts the distributor: the component's own registration and endpoints.</summary>
public static class DistributorModule
{
    public static ComponentModule Component { get; } = new(ModuleNames.Distributor, Init);

    private static void Init(ModuleContext context)
    {
        context.Services.AddDistributor(context.Configuration);
        if (!context.ActiveModules.Contains(ModuleNames.Ingester))
        {
            // No ingester in this process (it brings its local client): push to the ring's ingesters over gRPC.
            context.Services.AddRingIngesterClient(context.Configuration);
            context.Services.AddSingleton<IIngesterClient>(sp => sp.GetRequiredService<RingIngesterClient>());
        }
        context.MapEndpoints(app => app.MapDistributor());
    }
}
