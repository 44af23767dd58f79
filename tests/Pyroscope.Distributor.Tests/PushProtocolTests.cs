using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Web;
using Pyroscope.Contracts.Push.V1;
using Pyroscope.Contracts.Types.V1;
using Pyroscope.Model;
using static Pyroscope.Distributor.Tests.Fixtures;
using Pyroscope.Testing;

namespace Pyroscope.Distributor.Tests;

public sealed class PushProtocolTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static PushRequest Request(string fixture, params (string Name, string Value)[] labels)
    {
        var series = new RawProfileSeries();
        series.Labels.Add(new LabelPair { Name = LabelNames.MetricName, Value = "process_cpu" });
        series.Labels.Add(new LabelPair { Name = LabelNames.ServiceName, Value = "pushed-app" });
        foreach (var (name, value) in labels)
        {
            series.Labels.Add(new LabelPair { Name = name, Value = value });
        }
        series.Samples.Add(new RawSample { RawProfile = ByteString.CopyFrom(Read(fixture)), ID = Guid.NewGuid().ToString() });
        return new PushRequest { Series = { series } };
    }

    [Fact]
    public async Task Connect_proto_push_is_stored_with_every_sample_type()
    {
        await using var host = await DistributorHost.StartAsync();
        var content = new ByteArrayContent(Request("go/go-cpu.pb.gz", ("env", "prod")).ToByteArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/proto");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/push.v1.PusherService/Push") { Content = content };
        request.Headers.Add("Connect-Protocol-Version", "1");

        using var response = await host.Client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/proto", response.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync(Ct));
        var series = host.Ingester.AllSeries();
        Assert.Equal(Totals(Decode(Read("go/go-cpu.pb.gz"))).OrderBy(k => k.Key), Totals(series).OrderBy(k => k.Key));
        Assert.All(series, s => Assert.Equal("prod", Label(s, "env")));
        Assert.Contains(series, s => Label(s, LabelNames.ProfileType) == "process_cpu:cpu:nanoseconds:cpu:nanoseconds");
    }

    [Fact]
    public async Task Connect_json_push_with_gzip_request_body_is_stored()
    {
        await using var host = await DistributorHost.StartAsync();
        var json = JsonFormatter.Default.Format(Request("go/go-heap.pb.gz"));
        Assert.Contains("rawProfile", json);
        using var gzipped = new MemoryStream();
        using (var gzip = new GZipStream(gzipped, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(Encoding.UTF8.GetBytes(json.Replace("{", "{\"unknownField\":1,", StringComparison.Ordinal)));
        }
        var content = new ByteArrayContent(gzipped.ToArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        content.Headers.ContentEncoding.Add("gzip");

        using var response = await host.Client.PostAsync("/push.v1.PusherService/Push", content, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using (var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)))
        {
            Assert.Empty(body.RootElement.EnumerateObject());
        }
        Assert.Equal(Totals(Decode(Read("go/go-heap.pb.gz"))).OrderBy(k => k.Key), Totals(host.Ingester.AllSeries()).OrderBy(k => k.Key));
    }

    [Fact]
    public async Task Connect_errors_are_connect_json_with_the_codes_http_status()
    {
        await using var host = await DistributorHost.StartAsync();
        var empty = new StringContent("{}", Encoding.UTF8, "application/json");
        using var response = await host.Client.PostAsync("/push.v1.PusherService/Push", empty, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using (var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)))
        {
            Assert.Equal("invalid_argument", error.RootElement.GetProperty("code").GetString());
            Assert.Equal("no profiles received", error.RootElement.GetProperty("message").GetString());
        }

        var bad = Request("go/go-cpu.pb.gz");
        bad.Series[0].Samples[0].RawProfile = ByteString.CopyFrom([1, 2, 3, 4, 5]);
        var content = new ByteArrayContent(bad.ToByteArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/proto");
        using var badResponse = await host.Client.PostAsync("/push.v1.PusherService/Push", content, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, badResponse.StatusCode);
        Assert.Contains("series[0].samples[0].raw_profile", await badResponse.Content.ReadAsStringAsync(Ct));

        using var wrongType = await host.Client.PostAsync("/push.v1.PusherService/Push", new StringContent("x", Encoding.UTF8, "text/plain"), Ct);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, wrongType.StatusCode);

        var flags = new StringContent("{}", Encoding.UTF8, "application/json");
        using var flagsResponse = await host.Client.PostAsync("/push.v1.PusherService/GetFeatureFlags", flags, Ct);
        Assert.Equal(HttpStatusCode.OK, flagsResponse.StatusCode);
    }

    [Fact]
    public async Task Grpc_push_on_the_h2c_port_and_grpc_web_on_the_http_port()
    {
        var config = DistributorHost.DefaultConfig();
        config["multitenancy_enabled"] = "true";
        await using var host = await DistributorHost.StartAsync(config);
        using var channel = GrpcChannel.ForAddress(host.GrpcAddress);
        var client = new PusherService.PusherServiceClient(channel);

        var denied = await Assert.ThrowsAsync<RpcException>(() => client.PushAsync(Request("go/go-cpu.pb.gz"), cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, denied.StatusCode);
        Assert.Equal("no org id", denied.Status.Detail);

        await client.PushAsync(Request("go/go-cpu.pb.gz"), new Metadata { { "X-Scope-OrgID", "grpc-tenant" } }, cancellationToken: Ct);
        Assert.Equal("grpc-tenant", Assert.Single(host.Ingester.Pushes).Tenant);

        var empty = await Assert.ThrowsAsync<RpcException>(() => client.PushAsync(new PushRequest(), new Metadata { { "X-Scope-OrgID", "t" } }, cancellationToken: Ct).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, empty.StatusCode);

        using var web = GrpcChannel.ForAddress(host.HttpAddress, new GrpcChannelOptions { HttpHandler = new GrpcWebHandler(GrpcWebMode.GrpcWeb, new HttpClientHandler()), HttpVersion = HttpVersion.Version11, HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact });
        await new PusherService.PusherServiceClient(web).PushAsync(Request("go/go-heap.pb.gz"), new Metadata { { "X-Scope-OrgID", "web-tenant" } }, cancellationToken: Ct);
        Assert.Contains(host.Ingester.Pushes, p => p.Tenant == "web-tenant");
    }

    [Fact]
    public async Task Buf_curl_connect_client_pushes_successfully()
    {
        var buf = FindBuf();
        Assert.True(buf is not null, "buf (npm @bufbuild/buf) not found in node_modules: run npm ci (.ci/run does)");
        await using var host = await DistributorHost.StartAsync();
        var json = JsonFormatter.Default.Format(Request("go/go-heap.pb.gz", ("via", "buf")));
        var schema = Path.Combine(RepositoryPaths.Root, "src", "Pyroscope.Contracts", "Protos");

        var start = new ProcessStartInfo(buf!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var arg in new[] { "curl", "--schema", schema, "--protocol", "connect", "-d", "@-", new Uri(host.HttpAddress, "/push.v1.PusherService/Push").ToString() })
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start)!;
        try
        {
            await process.StandardInput.WriteAsync(json);
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync(Ct);
            var stderr = process.StandardError.ReadToEndAsync(Ct);
            await process.WaitForExitAsync(Ct);
            Assert.True(process.ExitCode == 0, $"buf curl exit {process.ExitCode}: {await stderr} {await stdout}");
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
        var series = host.Ingester.AllSeries();
        Assert.NotEmpty(series);
        Assert.All(series, s => Assert.Equal("buf", Label(s, "via")));
    }

    private static string? FindBuf()
    {
        var path = RepositoryPaths.NodeModulesBin("buf");
        return File.Exists(path) ? path : null;
    }
}
