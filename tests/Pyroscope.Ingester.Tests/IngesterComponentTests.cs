using System.Net;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Ingester;
using Pyroscope.Model;
using Pyroscope.Storage;
using Pyroscope.Storage.Reading;

namespace Pyroscope.Ingester.Tests;

/// <summary>The DI registrations and the gRPC push endpoint, as the lead's modules use them.</summary>
public sealed class IngesterComponentTests
{
    private static readonly long T0 = TestData.Start.ToUnixTimeMilliseconds();
    private static readonly TimeRange All = new(T0 - 3_600_000, T0 + 3_600_000);

    private static IConfiguration Config(string data, string shared) => new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["pyroscopedb:data_path"] = data,
        ["pyroscopedb:max_block_duration"] = "1h",
        ["storage:backend"] = "filesystem",
        ["storage:prefix"] = "blocks",
        ["storage:filesystem:dir"] = shared,
    }).Build();

    [Fact]
    public async Task AddIngester_registers_its_in_process_client_and_complete_reader_and_flushes_at_shutdown()
    {
        using var data = new TempDir();
        using var shared = new TempDir();
        var config = Config(data.Path, shared.Path);
        // As a distributor hands them over (received pprof, normalised): the Go fixtures, whose series labels the
        // normaliser derives exactly as the fixtures name them.
        var fixtures = TestData.AllFixtureSeries(T0).Where(f => f.File.StartsWith("go/", StringComparison.Ordinal)).ToList();
        var services = new ServiceCollection().AddLogging();
        services.AddIngester(config);
        await using (var provider = services.BuildServiceProvider())
        {
            var hosted = provider.GetServices<IHostedService>().ToList();
            foreach (var h in hosted)
            {
                await h.StartAsync(TestContext.Current.CancellationToken);
            }
            var client = provider.GetRequiredKeyedService<IIngesterClient>(InProcessSeams.Ingester);
            Assert.IsType<LocalIngesterClient>(client);
            await client.PushAsync("tenant-di", ReceivedPushes.Of(Fixtures.Push(fixtures.Select(f => f.Series))), TestContext.Current.CancellationToken);
            var reader = provider.GetRequiredKeyedService<IProfileReader>(InProcessSeams.Ingester);
            Assert.IsType<CombinedReader>(reader);
            await TestData.AssertAllExactAsync(reader, "tenant-di", fixtures, All);
            foreach (var h in hosted)
            {
                await h.StopAsync(TestContext.Current.CancellationToken);
            }
        }
        Assert.True(Directory.Exists(Path.Combine(shared.Path, "blocks", "tenant-di")));

        // A querier-only process reads the uploaded blocks through the store reader.
        var querier = new ServiceCollection().AddLogging();
        querier.AddBlockStoreReader(config);
        await using var querierProvider = querier.BuildServiceProvider();
        var storeReader = querierProvider.GetRequiredService<BlockStoreReader>();
        await TestData.AssertAllExactAsync(storeReader, "tenant-di", fixtures, All);
    }

    [Fact]
    public async Task MapIngester_accepts_grpc_pushes_and_rejects_a_missing_tenant()
    {
        using var data = new TempDir();
        using var shared = new TempDir();
        var port = Pyroscope.Testing.FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddIngester(Config(data.Path, shared.Path));
        await using var app = builder.Build();
        app.MapIngester();
        await app.StartAsync(TestContext.Current.CancellationToken);
        try
        {
            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
            var client = new IngesterService.IngesterServiceClient(channel);
            var f = TestData.AllFixtureSeries(T0)[0];
            await client.PushAsync(Fixtures.Push([f.Series]), new Metadata { { "x-scope-orgid", "grpc-tenant" } }, cancellationToken: TestContext.Current.CancellationToken);
            var reader = app.Services.GetRequiredKeyedService<IProfileReader>(InProcessSeams.Ingester);
            await TestData.AssertAllExactAsync(reader, "grpc-tenant", [f], All);

            var error = await Assert.ThrowsAsync<RpcException>(async () => await client.PushAsync(Fixtures.Push([f.Series]), cancellationToken: TestContext.Current.CancellationToken));
            Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        }
        finally
        {
            await app.StopAsync(TestContext.Current.CancellationToken);
        }
    }
}
