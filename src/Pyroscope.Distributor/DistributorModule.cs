using Pyroscope.Distributor.Remote;
using Pyroscope.Hosting;
using Pyroscope.Hosting.Modules;

namespace Pyroscope.Distributor;

/// <summary>How the module table starts the distributor: the component's own registration and endpoints.</summary>
public static class DistributorModule
{
    public static ComponentModule Component { get; } = new(ModuleNames.Distributor, Init);

    private static void Init(ModuleContext context)
    {
        context.Services.AddDistributor(context.Configuration);
        // Ingesters over gRPC, chosen by the ring; an in-process ingester's local client replaces this.
        context.Services.AddRemoteIngesterClient(context.Configuration);
        context.MapEndpoints(app => app.MapDistributor());
    }
}
