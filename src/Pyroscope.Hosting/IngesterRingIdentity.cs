using System.Net;
using Microsoft.Extensions.Configuration;
using Pyroscope.Ring;

namespace Pyroscope.Hosting;

/// <summary>How an ingester process introduces itself in the ring.</summary>
internal static class IngesterRingIdentity
{
    /// <summary>
    /// The ring's defaults, except that an ingester listening on one specific address (127.0.0.1 in a local
    /// AppHost run) advertises that address rather than its host name.
    /// </summary>
    public static RingInstanceInfo Of(IConfiguration configuration, RingOptions ring)
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
