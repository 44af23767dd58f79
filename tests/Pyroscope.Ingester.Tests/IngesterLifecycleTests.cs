using System.Net;
using System.Text;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Pyroscope.Api;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Model;

namespace Pyroscope.Ingester.Tests;

/// <summary>
/// One lifecycle: the engine is built without I/O, its one hosted service replays the WAL in StartAsync, and what
/// arrives before that is refused as retryable (503 / unavailable) instead of blocking or crashing.
/// </summary>
public sealed class IngesterLifecycleTests
{
    private static readonly long T0 = TestData.Start.ToUnixTimeMilliseconds();
    private static readonly TimeRange All = new(T0 - 3_600_000, T0 + 3_600_000);

    private static IConfiguration Config(string data, string shared) => new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["pyroscopedb:data_path"] = data,
        ["storage:backend"] = "filesystem",
        ["storage:filesystem:dir"] = shared,
    }).Build();

    [Fact]
    public async Task The_hosted_service_replays_the_wal_at_start_and_until_then_pushes_and_reads_are_refused()
    {
        using var root = new TempDir();
        using var shared = new TempDir();
        var data = Path.Combine(root.Path, "data");
        var config = Config(data, shared.Path);
        var f = TestData.AllFixtureSeries(T0)[0];
        var ct = TestContext.Current.CancellationToken;

        // First run: the push is acknowledged (in the WAL), then the process dies without its shutdown flush.
        await using (var provider = new ServiceCollection().AddLogging().AddIngester(config).BuildServiceProvider())
        {
            var engine = provider.GetRequiredService<IngesterEngine>();
            Assert.False(Directory.Exists(data), "constructing the engine must not touch the disk");
            var client = provider.GetRequiredKeyedService<IIngesterClient>(InProcessSeams.Ingester);
            var refused = await Assert.ThrowsAsync<IngesterStartingException>(() => client.PushAsync("t", ReceivedPushes.Of(Fixtures.Push([f.Series])), ct));
            Assert.Equal(503, refused.HttpStatus);
            Assert.Contains("ingester is starting", refused.Message);
            var reader = provider.GetRequiredKeyedService<IProfileReader>(InProcessSeams.Ingester);
            await Assert.ThrowsAsync<IngesterStartingException>(async () => await reader.SeriesAsync("t", [], All, ct));

            // One service of the ingester's own; the object store's access check comes with the store.
            var hosted = Assert.Single(provider.GetServices<IHostedService>().OfType<IngesterLifecycle>());
            await hosted.StartAsync(ct);
            Assert.True(engine.IsStarted);
            await client.PushAsync("t", ReceivedPushes.Of(Fixtures.Push([f.Series])), ct);
            await engine.DisposeAsync();
        }

        // Second run: StartAsync returns only once the WAL is replayed, so the push is readable right after it.
        await using (var provider = new ServiceCollection().AddLogging().AddIngester(config).BuildServiceProvider())
        {
            var hosted = Assert.Single(provider.GetServices<IHostedService>().OfType<IngesterLifecycle>());
            await hosted.StartAsync(ct);
            await TestData.AssertAllExactAsync(provider.GetRequiredKeyedService<IProfileReader>(InProcessSeams.Ingester), "t", [f], All);
            await hosted.StopAsync(ct);
        }
        Assert.True(Directory.Exists(Path.Combine(shared.Path, "t")), "the shutdown flush uploads the replayed data");
    }

    [Fact]
    public async Task Grpc_calls_before_the_replay_answer_unavailable_and_succeed_after_it()
    {
        using var data = new TempDir();
        var engine = new IngesterEngine(TestEngine.Options(data.Path), new IngesterOptions(), remote: null, TestData.Clock());
        await using var _ = engine;
        var port = Pyroscope.Testing.FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(engine);
        builder.Services.AddSingleton(new IngesterReader(engine));
        await using var app = builder.Build();
        app.MapIngester();
        await app.StartAsync(TestContext.Current.CancellationToken);
        try
        {
            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
            var client = new IngesterService.IngesterServiceClient(channel);
            var headers = new Metadata { { OrgIdHeader.GrpcKey, "t" } };
            var push = Fixtures.Push([TestData.AllFixtureSeries(T0)[0].Series]);

            var pushError = await Assert.ThrowsAsync<RpcException>(async () => await client.PushAsync(push, headers, cancellationToken: TestContext.Current.CancellationToken));
            Assert.Equal(StatusCode.Unavailable, pushError.StatusCode);
            Assert.Contains("ingester is starting", pushError.Status.Detail);
            var readError = await Assert.ThrowsAsync<RpcException>(async () =>
                await client.ProfileTypesAsync(new ProfileTypesRequest { Range = new ReadRange { StartMs = All.StartMs, EndMs = All.EndMs } }, headers, cancellationToken: TestContext.Current.CancellationToken));
            Assert.Equal(StatusCode.Unavailable, readError.StatusCode);

            await engine.StartAsync(TestContext.Current.CancellationToken);
            await client.PushAsync(push, headers, cancellationToken: TestContext.Current.CancellationToken);
            var types = await client.ProfileTypesAsync(new ProfileTypesRequest { Range = new ReadRange { StartMs = All.StartMs, EndMs = All.EndMs } }, headers, cancellationToken: TestContext.Current.CancellationToken);
            Assert.NotEmpty(types.Ids);
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task The_http_error_mapping_answers_503_unavailable_for_a_starting_ingester()
    {
        var http = new DefaultHttpContext();
        http.Response.Body = new MemoryStream();
        await ApiErrors.HandleAsync(http, _ => throw new IngesterStartingException());
        Assert.Equal(503, http.Response.StatusCode);
        var body = Encoding.UTF8.GetString(((MemoryStream)http.Response.Body).ToArray());
        Assert.Contains("\"code\":\"unavailable\"", body);
        Assert.Contains("ingester is starting", body);
    }
}
