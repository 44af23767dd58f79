using Grpc.Core;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Ingester.Client;
using Pyroscope.Model;
using Pyroscope.Model.Query;

namespace Pyroscope.Ingester;

/// <summary>
/// gRPC <c>ingester.v1.IngesterService</c>: Push from distributors, and reads from queriers in other processes.
/// A read that carries a <see cref="StoreView"/> (the querier reads exactly that store snapshot itself) sees every
/// local block and head the view does not cover, uploaded or not; a read without one sees only data not yet
/// uploaded (<see cref="IngesterReader"/>), as older queriers expect. The tenant travels in the org id header (<see cref="OrgIdHeader.GrpcKey"/>).
/// </summary>
public sealed class IngesterGrpcService(IngesterEngine engine, IngesterReader reader, ILogger<IngesterGrpcService> logger) : IngesterService.IngesterServiceBase
{
    public override async Task<PushResponse> Push(PushRequest request, ServerCallContext context)
    {
        var tenant = Tenant(context);
        try
        {
            await engine.PushAsync(tenant, request, context.CancellationToken);
            return new PushResponse();
        }
        catch (SeriesLimitExceededException e)
        {
            // The distributor turns this status back into a 429 for the client.
            throw new RpcException(new Status(StatusCode.ResourceExhausted, e.Message));
        }
        catch (IngesterStartingException e)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, e.Message));
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or OverflowException)
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
            var types = await ReaderFor(request.StoreView).ProfileTypesAsync(tenant, ReadProtocol.FromProto(request.Range), ct);
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
            var names = await ReaderFor(request.StoreView).LabelNamesAsync(tenant, ReadProtocol.FromProto(request.Matchers), ReadProtocol.FromProto(request.Range), ct);
            return new LabelNamesResponse { Names = { names } };
        });

    public override Task<LabelValuesResponse> LabelValues(LabelValuesRequest request, ServerCallContext context) =>
        ReadAsync(context, async (tenant, ct) =>
        {
            var values = await ReaderFor(request.StoreView).LabelValuesAsync(tenant, request.Name, ReadProtocol.FromProto(request.Matchers), ReadProtocol.FromProto(request.Range), ct);
            return new LabelValuesResponse { Values = { values } };
        });

    public override Task<SeriesResponse> Series(SeriesRequest request, ServerCallContext context) =>
        ReadAsync(context, async (tenant, ct) =>
        {
            var series = await ReaderFor(request.StoreView).SeriesAsync(tenant, ReadProtocol.FromProto(request.Matchers), ReadProtocol.FromProto(request.Range), ct);
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
            await ReaderFor(request.StoreView).MergeStacksAsync(tenant, ReadProtocol.FromProto(request), builder, ct);
            return builder.Build();
        });

    public override Task<Contracts.Google.V1.Profile> MergeProfile(SelectRequest request, ServerCallContext context) =>
        ReadAsync(context, async (tenant, ct) =>
        {
            var merger = new PprofMerger();
            await ReaderFor(request.StoreView).MergeProfileAsync(tenant, ReadProtocol.FromProto(request), merger, ct);
            return merger.ToProfile();
        });

    public override Task<ProfileTotalsResponse> ProfileTotals(SelectRequest request, ServerCallContext context) =>
        ReadAsync(context, async (tenant, ct) => ReadProtocol.ToProto(await ReaderFor(request.StoreView).ProfileTotalsAsync(tenant, ReadProtocol.FromProto(request), ct)));

    public override Task<StatsResponse> Stats(StatsRequest request, ServerCallContext context) =>
        ReadAsync(context, async (tenant, ct) => ReadProtocol.ToProto(await ReaderFor(request.StoreView).StatsAsync(tenant, ct)));

    private IngesterReader ReaderFor(StoreView? view) =>
        view is null ? reader : reader.Excluding(new HashSet<string>(view.CoveredBlockIds, StringComparer.Ordinal));

    private async Task<T> ReadAsync<T>(ServerCallContext context, Func<string, CancellationToken, Task<T>> read)
    {
        var tenant = Tenant(context);
        try
        {
            return await read(tenant, context.CancellationToken);
        }
        catch (IngesterStartingException e)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, e.Message));
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
        var tenant = context.RequestHeaders.GetValue(OrgIdHeader.GrpcKey);
        return string.IsNullOrEmpty(tenant)
            ? throw new RpcException(new Status(StatusCode.Unauthenticated, $"no org id: the {OrgIdHeader.GrpcKey} header is missing"))
            : tenant;
    }
}
