using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Matching;

namespace Pyroscope.Querier;

/// <summary>Marks an endpoint that serves the Connect protocol on a path gRPC also uses.</summary>
public sealed class ConnectProtocolMetadata
{
    public static readonly ConnectProtocolMetadata Instance = new();
}

/// <summary>
/// Connect and gRPC share paths (<c>/querier.v1.QuerierService/Method</c>): requests whose content
/// type is <c>application/grpc*</c> go to the gRPC endpoint, all others to the Connect one, instead
/// of routing failing as ambiguous.
/// </summary>
public sealed class ProtocolMatcherPolicy : MatcherPolicy, IEndpointSelectorPolicy
{
    public override int Order => 0;

    public bool AppliesToEndpoints(IReadOnlyList<Endpoint> endpoints)
    {
        foreach (var e in endpoints)
        {
            if (e.Metadata.GetMetadata<ConnectProtocolMetadata>() is not null)
            {
                return true;
            }
        }
        return false;
    }

    public Task ApplyAsync(HttpContext httpContext, CandidateSet candidates)
    {
        var contentType = httpContext.Request.ContentType ?? string.Empty;
        var isGrpc = contentType.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase);
        for (var i = 0; i < candidates.Count; i++)
        {
            if (!candidates.IsValidCandidate(i))
            {
                continue;
            }
            var metadata = candidates[i].Endpoint.Metadata;
            var connect = metadata.GetMetadata<ConnectProtocolMetadata>() is not null;
            var grpc = metadata.GetMetadata<GrpcMethodMetadata>() is not null;
            if ((isGrpc && connect) || (!isGrpc && grpc))
            {
                candidates.SetValidity(i, false);
            }
        }
        return Task.CompletedTask;
    }
}
