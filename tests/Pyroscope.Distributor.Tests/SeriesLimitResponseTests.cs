using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Pyroscope.Contracts.Push.V1;
using Pyroscope.Contracts.Types.V1;
using Pyroscope.Model;
using static Pyroscope.Distributor.Tests.Fixtures;

namespace Pyroscope.Distributor.Tests;

/// <summary>An ingester's series-limit refusal reaches every push protocol as 429 / resource_exhausted and is counted.</summary>
public sealed class SeriesLimitResponseTests
{
    private const string Refusal = "Maximum active series limit exceeded (3/3) for tenant \"anonymous\": limit 3 from max_global_series_per_tenant=3";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static PushRequest ConnectRequest()
    {
        var series = new RawProfileSeries();
        series.Labels.Add(new LabelPair { Name = LabelNames.MetricName, Value = "process_cpu" });
        series.Labels.Add(new LabelPair { Name = LabelNames.ServiceName, Value = "limited-app" });
        series.Samples.Add(new RawSample { RawProfile = ByteString.CopyFrom(Read("go/go-cpu.pb.gz")), ID = Guid.NewGuid().ToString() });
        return new PushRequest { Series = { series } };
    }

    [Fact]
    public async Task Series_limit_refusal_is_429_resource_exhausted_on_ingest_connect_and_grpc_and_counted()
    {
        await using var host = await DistributorHost.StartAsync();
        host.Ingester.FailWith = new SeriesLimitExceededException(Refusal);
        using var discarded = new DiscardedSamplesRecorder();

        // /ingest (pyroscope SDKs).
        using (var response = await host.Client.PostAsync("/ingest?name=limited-app&format=pprof", new ByteArrayContent(Read("go/go-cpu.pb.gz")), Ct))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
            Assert.Equal("resource_exhausted", json.RootElement.GetProperty("code").GetString());
            Assert.Equal(Refusal, json.RootElement.GetProperty("message").GetString());
        }

        // push.v1 over Connect (Alloy).
        var content = new ByteArrayContent(ConnectRequest().ToByteArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/proto");
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/push.v1.PusherService/Push") { Content = content })
        {
            request.Headers.Add("Connect-Protocol-Version", "1");
            using var response = await host.Client.SendAsync(request, Ct);
            Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
            Assert.Equal("resource_exhausted", json.RootElement.GetProperty("code").GetString());
            Assert.Equal(Refusal, json.RootElement.GetProperty("message").GetString());
        }

        // push.v1 over gRPC.
        using var channel = GrpcChannel.ForAddress(host.GrpcAddress);
        var e = await Assert.ThrowsAsync<RpcException>(() => new PusherService.PusherServiceClient(channel).PushAsync(ConnectRequest(), cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.Equal(Refusal, e.Status.Detail);

        Assert.Equal(3, discarded.Increments.Count(d => d is { Reason: "series_limit", Tenant: "anonymous", Value: 1 }));
    }
}
