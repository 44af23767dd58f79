using Grpc.Core;
using Pyroscope.Api;
using Pyroscope.Api.Tenancy;
using Pyroscope.Contracts.Recording.V1;

namespace Pyroscope.Querier;

/// <summary>recording.v1.RecordedSeriesService over gRPC (and gRPC-Web); the same query as the Connect endpoint.</summary>
public sealed class RecordedSeriesGrpcService(RecordedSeriesQuery query, ITenantResolver tenants) : RecordedSeriesService.RecordedSeriesServiceBase
{
    public override Task<SelectRecordedSeriesResponse> SelectRecordedSeries(SelectRecordedSeriesRequest request, ServerCallContext context) =>
        tenants.RunForTenantAsync(context, (t, ct) => query.SelectAsync(t, request, ct));
}
