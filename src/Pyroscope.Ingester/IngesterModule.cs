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

    private static RingInstanceInfo InstanceInfo(IConfiguration configuration, RingOptions ring)
    {
        var grpcPort = configuration["server:grpc_listen_port"] ?? "9095";
        var httpPort = configuration["server:http_listen_port"] ?? "4040";
        var listen = configuration["server:grpc_listen_address"];
        var host = ring.InstanceAddr
            ?? (IPAddress.TryParse(listen, out var ip) && !ip.Equals(IPAddress.Any) && !ip.Equals(IPAddress.IPv6Any) ? listen : Dns.GetHostName());
        return new RingInstanceInfo(ring.InstanceId ?? $"{Dns.GetHostName()}-{grpcPort}", $"{host}:{httpPort}", $"{host}:{grpcPort}", ring.InstanceZone);
    }
}
