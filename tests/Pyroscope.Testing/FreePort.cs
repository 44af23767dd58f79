using System.Net;
using System.Net.Sockets;

namespace Pyroscope.Testing;

public static class FreePort
{
    // Below Linux's ephemeral range (32768–60999 by default): a port the OS handed out as "free" can be taken
    // by any outgoing connection before the server binds it, which happened with parallel test processes.
    // Ports picked here are only ever taken by another test picking the same one at the same moment.
    private const int LowestPort = 20000;
    private const int PortCount = 12000;

    /// <summary>A loopback port nothing listens on right now, outside the range the OS uses for outgoing connections.</summary>
    public static int Next()
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var port = LowestPort + Random.Shared.Next(PortCount);
            if (IsBindable(port))
            {
                return port;
            }
        }
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static bool IsBindable(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
