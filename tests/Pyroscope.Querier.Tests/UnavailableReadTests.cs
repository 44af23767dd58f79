using System.Net;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using Pyroscope.Contracts.Querier.V1;
using Pyroscope.Model;
using Pyroscope.Model.Query;
using TypesV1 = Pyroscope.Contracts.Types.V1;

namespace Pyroscope.Querier.Tests;

/// <summary>
/// A read whose data cannot all be reached (the reader throws <see cref="UnavailableException"/>) is a 503
/// <c>unavailable</c> naming what is missing on every surface: Connect, gRPC and the legacy HTTP API.
/// </summary>
public sealed class UnavailableReadTests : IAsyncLifetime
{
    private const string Missing = "2 of 3 ingesters must answer, but ingester-b (127.0.0.1:9095) and ingester-c (127.0.0.1:9096) did not";
    private const string CpuType = "process_cpu:cpu:nanoseconds:cpu:nanoseconds";
    private QuerierHost _host = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _host = await QuerierHost.StartAsync(new UnreachableReader());

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    [Theory]
    [InlineData("SelectMergeStacktraces", "{\"profile_typeID\":\"" + CpuType + "\",\"label_selector\":\"{}\",\"start\":START,\"end\":END}")]
    [InlineData("SelectSeries", "{\"profile_typeID\":\"" + CpuType + "\",\"label_selector\":\"{}\",\"start\":START,\"end\":END,\"step\":60}")]
    [InlineData("SelectMergeProfile", "{\"profile_typeID\":\"" + CpuType + "\",\"label_selector\":\"{}\",\"start\":START,\"end\":END}")]
    [InlineData("ProfileTypes", "{}")]
    [InlineData("LabelNames", "{}")]
    [InlineData("Series", "{}")]
    [InlineData("GetProfileStats", "{}")]
    public async Task Connect_answers_503_unavailable_naming_the_missing_parts(string method, string json)
    {
        // Recent times: the engine answers ranges entirely before the look-back limit without reading anything.
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        json = json.Replace("START", (now - 3_600_000).ToString(), StringComparison.Ordinal).Replace("END", now.ToString(), StringComparison.Ordinal);
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await _host.Http.PostAsync(QuerierEndpoints.ServicePath + method, content, Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{(int)response.StatusCode}: {body}");
        using var error = JsonDocument.Parse(body);
        Assert.Equal("unavailable", error.RootElement.GetProperty("code").GetString());
        Assert.Equal(Missing, error.RootElement.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Grpc_answers_unavailable_naming_the_missing_parts()
    {
        using var channel = GrpcChannel.ForAddress(_host.GrpcAddress);
        var client = new QuerierService.QuerierServiceClient(channel);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var error = await Assert.ThrowsAsync<RpcException>(async () => await client.SelectMergeStacktracesAsync(
            new SelectMergeStacktracesRequest { ProfileTypeID = CpuType, LabelSelector = "{}", Start = now - 3_600_000, End = now }, cancellationToken: Ct));
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Equal(Missing, error.Status.Detail);

        error = await Assert.ThrowsAsync<RpcException>(async () => await client.LabelValuesAsync(new TypesV1.LabelValuesRequest { Name = "service_name" }, cancellationToken: Ct));
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
    }

    [Theory]
    [InlineData("/pyroscope/render?query=" + CpuType + "{}&from=now-1h&until=now")]
    [InlineData("/pyroscope/render?query=" + CpuType + "{}&from=now-1h&until=now&format=pprof")]
    [InlineData("/pyroscope/render-diff?leftQuery=" + CpuType + "{}&rightQuery=" + CpuType + "{}&leftFrom=now-2h&leftUntil=now-1h&rightFrom=now-1h&rightUntil=now")]
    [InlineData("/pyroscope/label-values?label=service_name")]
    [InlineData("/pyroscope/labels")]
    public async Task The_legacy_api_answers_503_unavailable_naming_the_missing_parts(string url)
    {
        using var response = await _host.Http.GetAsync(url, Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{(int)response.StatusCode}: {body}");
        using var error = JsonDocument.Parse(body);
        Assert.Equal("unavailable", error.RootElement.GetProperty("code").GetString());
        Assert.Equal(Missing, error.RootElement.GetProperty("message").GetString());
    }

    /// <summary>Every read fails the way a querier's reader does when too few ingesters answer.</summary>
    private sealed class UnreachableReader : IProfileReader
    {
        private static UnavailableException Failure() => new(Missing);

        public ValueTask<IReadOnlyList<ProfileTypeId>> ProfileTypesAsync(string tenantId, TimeRange range, CancellationToken cancellationToken) => throw Failure();

        public ValueTask<IReadOnlyList<string>> LabelNamesAsync(string tenantId, IReadOnlyList<LabelMatcher> matchers, TimeRange range, CancellationToken cancellationToken) => throw Failure();

        public ValueTask<IReadOnlyList<string>> LabelValuesAsync(string tenantId, string labelName, IReadOnlyList<LabelMatcher> matchers, TimeRange range, CancellationToken cancellationToken) => throw Failure();

        public ValueTask<IReadOnlyList<LabelSet>> SeriesAsync(string tenantId, IReadOnlyList<LabelMatcher> matchers, TimeRange range, CancellationToken cancellationToken) => throw Failure();

        public ValueTask MergeStacksAsync(string tenantId, SelectQuery query, IStackSink sink, CancellationToken cancellationToken) => throw Failure();

        public ValueTask MergeProfileAsync(string tenantId, SelectQuery query, PprofMerger merger, CancellationToken cancellationToken) => throw Failure();

        public ValueTask<IReadOnlyList<ProfileTotal>> ProfileTotalsAsync(string tenantId, SelectQuery query, CancellationToken cancellationToken) => throw Failure();

        public ValueTask<ProfileStats> StatsAsync(string tenantId, CancellationToken cancellationToken) => throw Failure();
    }
}
