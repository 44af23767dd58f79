using Grpc.Net.Client;
using Pyroscope.Contracts.Querier.V1;
using Pyroscope.Testing;

namespace Pyroscope.IntegrationTests.ClientReplay;

/// <summary>
/// <see cref="ClientReplay"/> against a real monolith, and against real microservices (distributor, ingester and
/// querier processes, a Redis ring, a shared store) first while the ingester holds the profiles, then from the block
/// it uploaded when it stopped.
/// </summary>
public sealed class ClientReplayTests(MonolithFixture monolith) : IClassFixture<MonolithFixture>
{
    [Fact]
    public async Task Grafana_Drilldown_and_profilecli_requests_against_the_monolith()
    {
        var ct = TestContext.Current.CancellationToken;
        var data = new TracedProfiles("replay-monolith");
        var server = monolith.Server;
        await ClientReplay.PushAsync(server.Http, data, ct);
        using var grpc = GrpcChannel.ForAddress($"http://127.0.0.1:{server.GrpcPort}");
        await new ClientReplay(server.Http, grpc, data).RunAllAsync(ct);
        await ClientReplay.ServerInfoAsync(server.Http, grpc, ct);
    }

    [Fact]
    public async Task Grafana_Drilldown_and_profilecli_requests_against_microservices_from_ingesters_then_from_the_store()
    {
        var ct = TestContext.Current.CancellationToken;
        var data = new TracedProfiles("replay-microservices");
        var shared = Directory.CreateTempSubdirectory("pyroscope-replay-").FullName;
        await using var redis = await RedisServer.StartAsync();
        string[] common =
        [
            "-self-profiling.disable-push=true", "-ring.store=redis", $"-ring.redis.address={redis.Address}",
            $"-storage.filesystem.dir={shared}",
        ];
        var starting = new[] { "Pyroscope.Ingester", "Pyroscope.Distributor", "Pyroscope.Querier" }
            .Select(project => PyroscopeProcess.StartReadyAsync(project, common))
            .ToArray();
        var started = new List<PyroscopeProcess>();
        try
        {
            try
            {
                await Task.WhenAll(starting);
            }
            finally
            {
                foreach (var task in starting)
                {
                    if (task.IsCompletedSuccessfully)
                    {
                        started.Add(await task);
                    }
                }
            }
            var (ingester, distributor, querier) = (started[0], started[1], started[2]);
            var timeout = TimeSpan.FromSeconds(120); // three processes start at once on a loaded machine
            await Task.WhenAll(
                Query.EventuallyAsync(() => MicroservicesTests.HasActiveIngesterAsync(distributor, ct), timeout, "the distributor sees the ingester ACTIVE"),
                Query.EventuallyAsync(() => MicroservicesTests.HasActiveIngesterAsync(querier, ct), timeout, "the querier sees the ingester ACTIVE"));

            await ClientReplay.PushAsync(distributor.Http, data, ct);
            using var grpc = GrpcChannel.ForAddress($"http://127.0.0.1:{querier.GrpcPort}");
            var replay = new ClientReplay(querier.Http, grpc, data);
            Assert.Empty(Directory.GetFiles(shared, "meta.json", SearchOption.AllDirectories));
            await replay.RunAllAsync(ct);
            await ClientReplay.ServerInfoAsync(querier.Http, grpc, ct);
            using (var distributorGrpc = GrpcChannel.ForAddress($"http://127.0.0.1:{distributor.GrpcPort}"))
            {
                await ClientReplay.ServerInfoAsync(distributor.Http, distributorGrpc, ct);
            }

            // A graceful stop cuts the head into a block and uploads it; the querier then reads every profile once
            // from the store, with its id, trace ids and span ids.
            ingester.Terminate();
            Assert.Equal(0, await ingester.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.NotEmpty(Directory.GetFiles(shared, "meta.json", SearchOption.AllDirectories));
            await Query.EventuallyAsync(async () => await Query.SeriesTotalAsync(querier.Http, TracedProfiles.CpuProfileType, data.Selector, data.Start, data.End, ct)
                == TracedProfiles.Total(data.A) + TracedProfiles.Total(data.B), timeout, "the querier reads the uploaded block");
            await replay.RunAllAsync(ct);
        }
        finally
        {
            foreach (var process in started)
            {
                await process.DisposeAsync();
            }
            Directory.Delete(shared, recursive: true);
        }
    }
}
