using System.Net;
using Pyroscope.Hosting;
using Pyroscope.Hosting.Modules;
using Pyroscope.Ring;

namespace Pyroscope.Ingester;

/// <summary>How the module table starts the ingester: storage engine, ring membership and internal gRPC API.</summary>
public static class IngesterModule
{
    public static ComponentModule Component { get; } = new(ModuleNames.Ingester, Init);

    private static void Init(ModuleContext context)
    {
        context.Services.AddIngester(context.Configuration);
        // Joins the ring under the address distributors reach its gRPC port at.
        context.Services.AddRingLifecycler(context.Configuration, sp => InstanceInfo(context.Configuration, sp.GetRequiredService<RingOptions>()));
        context.MapEndpoints(app => app.MapIngester());
    }

    /// <summary>
    /// The ring's defaults, except that an ingester listening on one specific address (127.0.0.1 in a local
    /// AppHost run) advertises that address rather than its host name.
    /// </summary>
    private static RingInstanceInfo InstanceInfo(IConfiguration configuration, RingOptions ring)
    {
        var defaults = ring.DefaultInstanceInfo();
        var listen = configuration["server:grpc_listen_address"];
        if (ring.InstanceAddr is not null || !IPAddress.TryParse(listen, out var ip) || ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any))
        {
            return defaults;
        }
        return defaults with { Addr = $"{listen}:{ring.InstanceHttpPort}", GrpcAddr = $"{listen}:{ring.InstancePort}" };
    }
}
