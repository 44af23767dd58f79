using Google.Protobuf;
using Grpc.Core;
using Pyroscope.Api;
using Pyroscope.Api.Tenancy;
using Pyroscope.Contracts.Push.V1;
using Pyroscope.Contracts.Types.V1;

namespace Pyroscope.Distributor.Push;

/// <summary>push.v1.PusherService over gRPC (and gRPC-Web); tenant from metadata <c>x-scope-orgid</c>.</summary>
public sealed class PusherGrpcService(PushHandler handler, ITenantResolver tenants) : PusherService.PusherServiceBase
{
    public override async Task<PushResponse> Push(PushRequest request, ServerCallContext context)
    {
        var tenant = tenants.Resolve(context);
        try
        {
            return await handler.PushAsync(tenant, request, request.CalculateSize(), context.CancellationToken).ConfigureAwait(false);
        }
        catch (ApiException e)
        {
            throw new RpcException(new Status(e.Code.ToGrpc(), e.Message));
        }
    }

    public override Task<GetFeatureFlagsResponse> GetFeatureFlags(GetFeatureFlagsRequest request, ServerCallContext context)
    {
        tenants.Resolve(context);
        return Task.FromResult(PushHandler.FeatureFlags());
    }
}
