using System.Net;
using Pyroscope.IntegrationTests.Cluster;

namespace Pyroscope.IntegrationTests;

/// <summary>One replicated cluster for the failure tests; each test leaves it whole again.</summary>
public sealed class ReplicatedClusterFixture : IAsyncLifetime
{
    public ReplicatedCluster Cluster { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Cluster = await ReplicatedCluster.StartAsync(TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (Cluster is not null)
        {
            await Cluster.DisposeAsync();
        }
    }
}

/// <summary>
/// Reads while ingesters die (SIGKILL) or freeze (SIGSTOP), one after another in every order, and while the ring's Redis
/// is frozen: with replication factor 3 any two ingesters hold every acknowledged profile, so with one lost every read
/// must still be complete; with two or three lost every read must be 503 naming them; never a partial 200. Restarted
/// ingesters must be read and written to again as soon as they are ACTIVE.
/// </summary>
[Collection(nameof(ReplicatedCluster))]
public sealed class ReadsUnderFailureTests(ReplicatedClusterFixture fixture) : IClassFixture<ReplicatedClusterFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private ReplicatedCluster Cluster => fixture.Cluster;

    [Theory]
    [InlineData("kill 0, kill 1, kill 2")]
    [InlineData("kill 1, stop 2, stop 0")]
    [InlineData("stop 2, kill 0, kill 1")]
    [InlineData("stop 0, stop 2, stop 1")]
    [InlineData("kill 1, stop 0, kill 2")]
    [InlineData("stop 2, kill 1, stop 0")]
    public async Task Every_read_is_complete_or_503_naming_the_lost_ingesters(string order)
    {
        var steps = order.Split(", ").Select(step => (Kill: step.StartsWith("kill", StringComparison.Ordinal), Index: step[^1] - '0')).ToList();
        var expected = Cluster.Expected;
        await ReviveAsync();
        await using var reader = new ContinuousReader(Cluster, Ct);
        var lost = new List<string>();
        for (var s = 0; s < steps.Count; s++)
        {
            var (kill, index) = steps[s];
            var id = ReplicatedCluster.IngesterId(index);
            reader.MarkDown(id);
            lost.Add(id);
            if (kill)
            {
                await Cluster.KillIngesterAsync(index);
            }
            else
            {
                Cluster.Ingester(index).Freeze();
            }
            var when = $"after {string.Join(", ", steps.Take(s + 1).Select(x => $"{(x.Kill ? "killing" : "freezing")} {ReplicatedCluster.IngesterId(x.Index)}"))} ({Cluster.DescribeIngesters()})";
            if (s == 0)
            {
                // The other two replicas hold everything: no read may fail, none may wait for the lost one.
                TruthfulReads.AssertExact(await Cluster.ReadAsync(ReplicatedCluster.Service, Ct), expected, when);
                TruthfulReads.AssertExact(await Cluster.ReadAsync(ReplicatedCluster.Service, Ct), expected, when + " (again)");
            }
            else
            {
                // One replica left cannot prove a read complete; every lost one must be named, whatever state the
                // ring shows them in yet (called and failed, not heartbeating, or still to answer when two had failed).
                TruthfulReads.AssertUnavailableNaming(await Cluster.ReadAsync(ReplicatedCluster.Service, Ct), expected, reader.Down, lost, when);
            }
        }

        // Back: frozen ones carry on, killed ones restart on their data (the WAL keeps what they acknowledged).
        var killed = await ReviveAsync();
        Assert.Equal(steps.Where(x => x.Kill).Select(x => x.Index).Order(), killed.Order());

        if (killed.Count > 0)
        {
            // As soon as the distributor routes by a ring showing the restarted ingesters ACTIVE, one push reaches them.
            var service = "after-restart-" + string.Concat(order.Where(char.IsAsciiLetterOrDigit));
            var push = await Cluster.PushAsync(service, Ct);
            Assert.True(push.Status == HttpStatusCode.OK, $"push after the restart answered {(int)push.Status}: {push.Body}");
            foreach (var index in killed)
            {
                await Query.EventuallyAsync(async () => (await Cluster.ServicesOnIngesterAsync(index, Ct)).Contains(service), TimeSpan.FromSeconds(30),
                    $"the one push after the restart reaches {ReplicatedCluster.IngesterId(index)}");
            }
        }
        var checkedAnswers = await reader.StopAndAssertAsync();
        TestContext.Current.SendDiagnosticMessage($"{order}: {checkedAnswers} background reads ({reader.Exact} complete, {reader.Unavailable} 503), all truthful");
    }

    /// <summary>
    /// Brings every ingester back (also after a test failed half-way) and waits until the cluster routes by all three
    /// and answers completely; returns the ingesters that had to be restarted.
    /// </summary>
    private async Task<IReadOnlyList<int>> ReviveAsync()
    {
        var restartedSinceMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var restarted = await Cluster.ReviveAllAsync();
        await Cluster.WaitUntilAllActiveAsync(Ct, restartedSinceMs, restarted.Select(ReplicatedCluster.IngesterId).ToHashSet());
        await Query.EventuallyAsync(async () => TruthfulReads.IsExact(await Cluster.ReadAsync(ReplicatedCluster.Service, Ct), Cluster.Expected),
            TimeSpan.FromSeconds(60), "a complete read once every ingester is back");
        return restarted;
    }

    [Fact]
    public async Task A_frozen_Redis_keeps_reads_and_writes_going_until_the_heartbeat_timeout_then_503_then_recovers()
    {
        var expected = Cluster.Expected;
        await ReviveAsync();
        await using var reader = new ContinuousReader(Cluster, Ct);
        foreach (var id in ReplicatedCluster.IngesterIds)
        {
            // Without the ring, no ingester can prove it is alive: a 503 may name any of them.
            reader.MarkDown(id);
        }
        Cluster.Redis.Pause();
        try
        {
            // Every process keeps the ring it last read: until those heartbeats are older than the timeout, the
            // cluster works on, and what it acknowledges stays acknowledged.
            var push = await Cluster.PushAsync("during-redis-outage", Ct);
            Assert.True(push.Status == HttpStatusCode.OK, $"push right after Redis froze answered {(int)push.Status}: {push.Body}");

            // Then nobody can tell live ingesters from dead ones: reads and writes fail, saying which and why (the
            // ingesters' last heartbeats expire one after the other; the background reader checks the answers between).
            ReadOutcome? read = null;
            await Query.EventuallyAsync(async () => (read = await Cluster.ReadAsync(ReplicatedCluster.Service, Ct)).NamedIngesters.Count == 3,
                TimeSpan.FromSeconds(60), "reads fail naming every ingester once all the ring's heartbeats are stale");
            TruthfulReads.AssertUnavailableNaming(read!, expected, reader.Down, ReplicatedCluster.IngesterIds, "with Redis frozen past the heartbeat timeout");
            Assert.Contains("has not heartbeated", read!.Error);
            push = await Cluster.PushAsync("refused-during-redis-outage", Ct);
            Assert.True(push.Status == HttpStatusCode.ServiceUnavailable, $"push with Redis frozen past the heartbeat timeout answered {(int)push.Status}: {push.Body}");
            Assert.Contains("has not heartbeated", push.Body);
        }
        finally
        {
            Cluster.Redis.Resume();
        }

        await Cluster.WaitUntilAllActiveAsync(Ct);
        await Query.EventuallyAsync(async () => TruthfulReads.IsExact(await Cluster.ReadAsync(ReplicatedCluster.Service, Ct), expected), TimeSpan.FromSeconds(60), "a complete read once Redis is back");
        TruthfulReads.AssertExact(await Cluster.ReadAsync("during-redis-outage", Ct), expected, "the push acknowledged while Redis was frozen");
        var after = await Cluster.PushAsync("after-redis-outage", Ct);
        Assert.True(after.Status == HttpStatusCode.OK, $"push after Redis came back answered {(int)after.Status}: {after.Body}");
        await reader.StopAndAssertAsync();
    }

    [Fact]
    public async Task A_Redis_restarted_empty_is_filled_again_by_the_ingesters_and_no_read_lies_meanwhile()
    {
        var expected = Cluster.Expected;
        await ReviveAsync();
        await using var reader = new ContinuousReader(Cluster, Ct) { RingMayBeEmpty = true };
        foreach (var id in ReplicatedCluster.IngesterIds)
        {
            // Until an ingester has registered again, the readers cannot know it: a 503 may name any of them.
            reader.MarkDown(id);
        }
        var restartedMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await Cluster.Redis.RestartEmptyAsync();

        // Each ingester finds its entry gone at its next heartbeat and adds itself again, with no restart of its own;
        // the distributor and the querier reconnect and read the new ring.
        await Cluster.WaitUntilAllActiveAsync(Ct, restartedMs, ReplicatedCluster.IngesterIds.ToHashSet());
        await Query.EventuallyAsync(async () => TruthfulReads.IsExact(await Cluster.ReadAsync(ReplicatedCluster.Service, Ct), expected),
            TimeSpan.FromSeconds(60), "a complete read once the ingesters registered again");
        for (var index = 0; index < 3; index++)
        {
            Assert.False(Cluster.Ingester(index).Process.HasExited, $"{ReplicatedCluster.IngesterId(index)} exited after Redis restarted");
        }

        // Acknowledged by two replicas, the third may receive it only while the read below runs: it must count once.
        var push = await Cluster.PushAsync("after-redis-restart", Ct);
        Assert.True(push.Status == HttpStatusCode.OK, $"push after Redis restarted empty answered {(int)push.Status}: {push.Body}");
        TruthfulReads.AssertExact(await Cluster.ReadAsync("after-redis-restart", Ct), expected, "the push acknowledged after Redis restarted empty");
        var checkedAnswers = await reader.StopAndAssertAsync();
        TestContext.Current.SendDiagnosticMessage($"Redis restarted empty: {checkedAnswers} background reads ({reader.Exact} complete, {reader.Unavailable} 503), all truthful");
    }
}
