using Pyroscope.IntegrationTests.Cluster;

namespace Pyroscope.IntegrationTests;

/// <summary>
/// Ingesters stopped gracefully (SIGTERM: LEAVING, blocks uploaded, LEFT) one after another until none is left, while
/// a reader reads without pause: every single answer must be the complete data, from the ingesters first and from the
/// object store at the end, with no gap and no 503 in between (the querier reads a LEFT ingester's data through a store
/// listing made after it left).
/// </summary>
[Collection(nameof(ReplicatedCluster))]
public sealed class GracefulShutdownReadTests
{
    [Fact]
    public async Task Reads_stay_complete_while_every_ingester_leaves_gracefully()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var cluster = await ReplicatedCluster.StartAsync(ct);
        Assert.Empty(Directory.GetFiles(cluster.SharedStore, "meta.json", SearchOption.AllDirectories));
        // Nothing is marked down: a 503 is as wrong here as a partial answer.
        await using var reader = new ContinuousReader(cluster, ct);
        for (var index = 0; index < 3; index++)
        {
            cluster.Ingester(index).Terminate();
            Assert.Equal(0, await cluster.Ingester(index).WaitForExitAsync(TimeSpan.FromSeconds(60)));
            TruthfulReads.AssertExact(await cluster.ReadAsync(ReplicatedCluster.Service, ct), cluster.Expected, $"right after {ReplicatedCluster.IngesterId(index)} left");
        }
        Assert.NotEmpty(Directory.GetFiles(cluster.SharedStore, "meta.json", SearchOption.AllDirectories));
        var ring = await RingStatus.ReadAsync(cluster.Querier, ct);
        Assert.All(ring.Members, m => Assert.Equal("LEFT", m.State));
        var answers = await reader.StopAndAssertAsync();
        Assert.True(reader.Exact == answers && answers > 0, $"{answers} reads, {reader.Exact} complete");
    }
}
