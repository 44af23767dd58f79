using Google.Protobuf;
using Grpc.Core;
using Pyroscope.Api.Tenancy;
using Pyroscope.Contracts.Push.V1;
using Pyroscope.Contracts.Types.V1;

namespace Pyroscope.Distributor.Push;

/// <summary>push.v1.PusherService over gRPC (and gRPC-Web); tenant from the org id metadata.</summary>
public sealed class PusherGrpcService(PushHandler handler, ITenantResolver tenants) : PusherService.PusherServiceBase
{
    public override Task<PushResponse> Push(PushRequest request, ServerCallContext context) =>
        tenants.RunForTenantAsync(context, (tenant, ct) => handler.PushAsync(tenant, request, request.CalculateSize(), ct));

    public override Task<GetFeatureFlagsResponse> GetFeatureFlags(GetFeatureFlagsRequest request, ServerCallContext context)
    {
        tenants.Resolve(context);
        return Task.FromResult(PushHandler.FeatureFlags());
    }
}
