using Grpc.Core;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Model.Query;
using Pyroscope.Model.Remote;
using Pyroscope.Storage.Ingestion;
using Pyroscope.Storage.Reading;

namespace Pyroscope.Ingester;

/// <summary>
/// gRPC <c>ingester.v1.IngesterService</c>: Push from distributors, and reads from queriers in other processes.
/// Reads see only data not yet uploaded to object storage (<see cref="IngesterReader"/>); the querier reads the
/// store itself. The tenant travels in the <c>x-scope-orgid</c> header.
/// </summary>
public sealed class IngesterGrpcService(IngesterEngine engine, IngesterReader reader, ILogger<IngesterGrpcService> logger) : IngesterService.IngesterServiceBase
{
    public const string TenantHeader = "x-scope-orgid";

    public override async Task<PushResponse> Push(PushRequest request, ServerCallContext context)
    {
        var tenant = Tenant(context);
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

    public override Task<ProfileTypesResponse> ProfileTypes(ProfileTypesRequest request, ServerCallContext context) =>
        ReadAsync(context, async (tenant, ct) =>
        {
            var types = await reader.ProfileTypesAsync(tenant, ReadProtocol.FromProto(request.Range), ct);
            var response = new ProfileTypesResponse();
            foreach (var type in types)
            {
                response.Ids.Add(type.Id);
            }
            return response;
        });

    public override Task<LabelNamesResponse> LabelNames(LabelNamesRequest request, ServerCallContext context) =>
        ReadAsync(context, async (tenant, ct) =>
        {
            var names = await reader.LabelNamesAsync(tenant, ReadProtocol.FromProto(request.Matchers), ReadProtocol.FromProto(request.Range), ct);
            return new LabelNamesResponse { Names = { names } };
        });

    public override Task<LabelValuesResponse> LabelValues(LabelValuesRequest request, ServerCallContext context) =>
        ReadAsync(context, async (tenant, ct) =>
        {
            var values = await reader.LabelValuesAsync(tenant, request.Name, ReadProtocol.FromProto(request.Matchers), ReadProtocol.FromProto(request.Range), ct);
            return new LabelValuesResponse { Values = { values } };
        });

    public override Task<SeriesResponse> Series(SeriesRequest request, ServerCallContext context) =>
        ReadAsync(context, async (tenant, ct) =>
        {
            var series = await reader.SeriesAsync(tenant, ReadProtocol.FromProto(request.Matchers), ReadProtocol.FromProto(request.Range), ct);
            var response = new SeriesResponse();
            foreach (var labels in series)
            {
                response.Series.Add(ReadProtocol.ToProto(labels));
            }
            return response;
        });

    public override Task<StackSet> MergeStacks(SelectRequest request, ServerCallContext context) =>
        ReadAsync(context, async (tenant, ct) =>
        {
            var builder = new StackSetBuilder();
            await reader.MergeStacksAsync(tenant, ReadProtocol.FromProto(request), builder, ct);
            return builder.Build();
        });

    public override Task<Contracts.Google.V1.Profile> MergeProfile(SelectRequest request, ServerCallContext context) =>
        ReadAsync(context, async (tenant, ct) =>
        {
            var merger = new PprofMerger();
            await reader.MergeProfileAsync(tenant, ReadProtocol.FromProto(request), merger, ct);
            return merger.ToProfile();
        });

    public override Task<ProfileTotalsResponse> ProfileTotals(SelectRequest request, ServerCallContext context) =>
        ReadAsync(context, async (tenant, ct) => ReadProtocol.ToProto(await reader.ProfileTotalsAsync(tenant, ReadProtocol.FromProto(request), ct)));

    public override Task<StatsResponse> Stats(StatsRequest request, ServerCallContext context) =>
        ReadAsync(context, async (tenant, ct) => ReadProtocol.ToProto(await reader.StatsAsync(tenant, ct)));

    private async Task<T> ReadAsync<T>(ServerCallContext context, Func<string, CancellationToken, Task<T>> read)
    {
        var tenant = Tenant(context);
        try
        {
            return await read(tenant, context.CancellationToken);
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, e.Message));
        }
        catch (IOException e)
        {
            logger.LogError(e, "Read of tenant {Tenant} failed.", tenant);
            throw new RpcException(new Status(StatusCode.Unavailable, e.Message));
        }
    }

    private static string Tenant(ServerCallContext context)
    {
        var tenant = context.RequestHeaders.GetValue(TenantHeader);
        return string.IsNullOrEmpty(tenant)
            ? throw new RpcException(new Status(StatusCode.Unauthenticated, "no org id: the x-scope-orgid header is missing"))
            : tenant;
    }
}
