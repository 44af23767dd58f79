using Grpc.Core;
using Pyroscope.Api;
using Pyroscope.Api.Tenancy;
using Pyroscope.Contracts.Querier.V1;
using Pprof = Pyroscope.Contracts.Google.V1;
using TypesV1 = Pyroscope.Contracts.Types.V1;

namespace Pyroscope.Querier;

/// <summary>querier.v1.QuerierService over gRPC (and gRPC-Web); the same engine as the Connect endpoints.</summary>
public sealed class QuerierGrpcService(QueryEngine engine, ITenantResolver tenants) : QuerierService.QuerierServiceBase
{
    public override Task<ProfileTypesResponse> ProfileTypes(ProfileTypesRequest request, ServerCallContext context) =>
        Run(context, (t, ct) => engine.ProfileTypesAsync(t, request, ct));

    public override Task<TypesV1.LabelValuesResponse> LabelValues(TypesV1.LabelValuesRequest request, ServerCallContext context) =>
        Run(context, (t, ct) => engine.LabelValuesAsync(t, request, ct));

    public override Task<TypesV1.LabelNamesResponse> LabelNames(TypesV1.LabelNamesRequest request, ServerCallContext context) =>
        Run(context, (t, ct) => engine.LabelNamesAsync(t, request, ct));

    public override Task<SeriesResponse> Series(SeriesRequest request, ServerCallContext context) =>
        Run(context, (t, ct) => engine.SeriesAsync(t, request, ct));

    public override Task<SelectMergeStacktracesResponse> SelectMergeStacktraces(SelectMergeStacktracesRequest request, ServerCallContext context) =>
        Run(context, (t, ct) => engine.SelectMergeStacktracesAsync(t, request, ct));

    public override Task<SelectMergeSpanProfileResponse> SelectMergeSpanProfile(SelectMergeSpanProfileRequest request, ServerCallContext context) =>
        Run(context, (t, ct) => engine.SelectMergeSpanProfileAsync(t, request, ct));

    public override Task<Pprof.Profile> SelectMergeProfile(SelectMergeProfileRequest request, ServerCallContext context) =>
        Run(context, (t, ct) => engine.SelectMergeProfileAsync(t, request, ct));

    public override Task<SelectSeriesResponse> SelectSeries(SelectSeriesRequest request, ServerCallContext context) =>
        Run(context, (t, ct) => engine.SelectSeriesAsync(t, request, ct));

    public override Task<SelectHeatmapResponse> SelectHeatmap(SelectHeatmapRequest request, ServerCallContext context) =>
        Run(context, (t, ct) => engine.SelectHeatmapAsync(t, request, ct));

    public override Task<DiffResponse> Diff(DiffRequest request, ServerCallContext context) =>
        Run(context, (t, ct) => engine.DiffAsync(t, request, ct));

    public override Task<TypesV1.GetProfileStatsResponse> GetProfileStats(TypesV1.GetProfileStatsRequest request, ServerCallContext context) =>
        Run(context, (t, ct) => engine.GetProfileStatsAsync(t, ct));

    public override Task<AnalyzeQueryResponse> AnalyzeQuery(AnalyzeQueryRequest request, ServerCallContext context) =>
        Run(context, (t, ct) => engine.AnalyzeQueryAsync(t, request, ct));

    private Task<T> Run<T>(ServerCallContext context, Func<string, CancellationToken, Task<T>> call) =>
        tenants.RunForTenantAsync(context, call);
}
