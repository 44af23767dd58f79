namespace Pyroscope.Model;

/// <summary>
/// The header that carries the tenant (upstream's org id) on every request: HTTP from clients, gRPC metadata
/// between components. gRPC metadata keys are lowercase on the wire, so the gRPC form is spelled that way.
/// </summary>
public static class OrgIdHeader
{
    /// <summary>The HTTP header name, as upstream documents it.</summary>
    public const string HttpName = "X-Scope-OrgID";

    /// <summary>The gRPC metadata key.</summary>
    public const string GrpcKey = "x-scope-orgid";
}
