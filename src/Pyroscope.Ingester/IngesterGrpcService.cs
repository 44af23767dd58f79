using Grpc.Core;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Storage.Ingestion;

namespace Pyroscope.Ingester;

/// <summary>gRPC <c>ingester.v1.IngesterService</c>: the tenant travels in the <c>x-scope-orgid</c> header.</summary>
public sealed class IngesterGrpcService(IngesterEngine engine, ILogger<IngesterGrpcService> logger) : IngesterService.IngesterServiceBase
{
    public const string TenantHeader = "x-scope-orgid";

    public override async Task<PushResponse> Push(PushRequest request, ServerCallContext context)
    {
        var tenant = context.RequestHeaders.GetValue(TenantHeader);
        if (string.IsNullOrEmpty(tenant))
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, "no org id: the x-scope-orgid header is missing"));
        }
        try
        {
            await engine.PushAsync(tenant, request, context.CancellationToken);
            return new PushResponse();
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, e.Message));
        }
        catch (IOException e)
        {
            logger.LogError(e, "Push of tenant {Tenant} could not be made durable.", tenant);
            throw new RpcException(new Status(StatusCode.Unavailable, e.Message));
        }
    }
}
