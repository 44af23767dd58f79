using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Matching;

namespace Pyroscope.Api.Connect;

/// <summary>Marks an endpoint mapped by <see cref="ConnectEndpoints.MapConnectUnary{TRequest,TResponse}"/>.</summary>
public sealed class ConnectEndpointMetadata
{
    public static readonly ConnectEndpointMetadata Instance = new();
}

/// <summary>
/// Connect and gRPC share paths (<c>/push.v1.PusherService/Push</c>): <c>application/grpc*</c> requests
/// (gRPC and gRPC-Web) go to the gRPC endpoint, everything else to the Connect one, instead of routing
/// failing as ambiguous. Registered by <see cref="ServiceCollectionExtensions.AddPyroscopeApi"/>.
/// </summary>
public sealed class ConnectProtocolMatcherPolicy : MatcherPolicy, IEndpointSelectorPolicy
{
    public override int Order => 0;

    public bool AppliesToEndpoints(IReadOnlyList<Endpoint> endpoints)
    {
        foreach (var endpoint in endpoints)
        {
            if (endpoint.Metadata.GetMetadata<ConnectEndpointMetadata>() is not null)
            {
                return true;
            }
        }
        return false;
    }

    public Task ApplyAsync(HttpContext httpContext, CandidateSet candidates)
    {
        var isGrpc = (httpContext.Request.ContentType ?? string.Empty).StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase);
        for (var i = 0; i < candidates.Count; i++)
        {
            if (!candidates.IsValidCandidate(i))
            {
                continue;
            }
            var metadata = candidates[i].Endpoint.Metadata;
            var connect = metadata.GetMetadata<ConnectEndpointMetadata>() is not null;
            var grpc = metadata.GetMetadata<GrpcMethodMetadata>() is not null;
            if ((isGrpc && connect) || (!isGrpc && grpc))
            {
                candidates.SetValidity(i, false);
            }
        }
        return Task.CompletedTask;
    }
}
