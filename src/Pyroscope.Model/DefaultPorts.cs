namespace Pyroscope.Model;

/// <summary>Upstream's listen ports: what a client or a ring member assumes when nothing else is said.</summary>
public static class DefaultPorts
{
    /// <summary>HTTP: the APIs, Connect, gRPC-Web and the UI.</summary>
    public const int Http = 4040;

    /// <summary>Plain gRPC (HTTP/2 cleartext).</summary>
    public const int Grpc = 9095;
}
