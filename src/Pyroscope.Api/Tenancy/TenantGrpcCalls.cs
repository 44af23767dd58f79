using Grpc.Core;

namespace Pyroscope.Api.Tenancy;

public static class TenantGrpcCalls
{
    /// <summary>
    /// Runs one unary gRPC call for the caller's tenant; an <see cref="ApiException"/> becomes the gRPC status of
    /// its Connect code, with its message, as the Connect endpoints answer it; an <see cref="Model.UnavailableException"/>
    /// becomes <c>Unavailable</c> with its message.
    /// </summary>
    public static async Task<T> RunForTenantAsync<T>(this ITenantResolver tenants, ServerCallContext context, Func<string, CancellationToken, Task<T>> call)
    {
        var tenant = tenants.Resolve(context);
        try
        {
            return await call(tenant, context.CancellationToken).ConfigureAwait(false);
        }
        catch (ApiException e)
        {
            throw new RpcException(new Status(e.Code.ToGrpc(), e.Message));
        }
        catch (Model.RegexBudgetExceededException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, e.Message));
        }
        catch (Model.UnavailableException e)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, e.Message));
        }
    }
}
