using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Pyroscope.Hosting;

/// <summary>
/// A call its caller cancelled ends with status Cancelled instead of an unhandled exception. Queriers cancel the calls
/// to the slower replicas as soon as enough ingesters answered, so this is routine, not an error to log per read.
/// </summary>
internal sealed class CallerCancelledInterceptor : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not RpcException && context.CancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Cancelled, "the caller cancelled the call"));
        }
    }
}
