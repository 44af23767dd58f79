using System.Net;
using System.Net.Sockets;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Model;
using Pyroscope.Ring;
using Pyroscope.Testing;
using MatchType = Pyroscope.Model.MatchType;

namespace Pyroscope.Ingester.Client.Tests;

public sealed class RemoteIngestersReaderTests
{
    private static readonly SelectQuery AnyCpu = new([new LabelMatcher("service_name", MatchType.Equal, "api")], new TimeRange(0, 100));

    [Fact]
    public async Task AnUnreachableIngesterFailsTheReadNamingIt()
    {
        using var channels = new IngesterChannelPool();
        var address = $"127.0.0.1:{ClosedPort()}";
        var reader = new RemoteIngestersReader(new FixedRing(new InstanceDesc { Id = "ingester-7", GrpcAddr = address, State = InstanceState.Active }), channels);
        var error = await Assert.ThrowsAsync<IngestersUnavailableException>(async () => await reader.ProfileTotalsAsync("tenant", AnyCpu, TestContext.Current.CancellationToken));
        Assert.IsAssignableFrom<UnavailableException>(error);
        Assert.Equal(["ingester-7"], error.MissingInstanceIds);
        Assert.Contains($"ingester-7 ({address}) failed: Unavailable", error.Message);
    }

    [Fact]
    public async Task WithReplicasOneUnreachableIngesterIsToleratedTwoAreNot()
    {
        using var channels = new IngesterChannelPool();
        var ct = TestContext.Current.CancellationToken;
        // Replication factor 3: any two of three hold every acknowledged profile; one call may fail, not two.
        InstanceDesc Unreachable(string id) => new() { Id = id, GrpcAddr = $"127.0.0.1:{ClosedPort()}", State = InstanceState.Active };
        InstanceDesc Left(string id) => new() { Id = id, GrpcAddr = $"127.0.0.1:{ClosedPort()}", State = InstanceState.Left };

        // Two left after uploading (their data is in the store), the third cannot be reached: nothing is missing.
        var reader = new RemoteIngestersReader(new FixedRing([Left("a"), Left("b"), Unreachable("c")], replicationFactor: 3), channels);
        Assert.Empty(await reader.ProfileTotalsAsync("tenant", AnyCpu, ct));

        // One left, two cannot be reached: profiles acknowledged by those two alone would be missing.
        reader = new RemoteIngestersReader(new FixedRing([Left("a"), Unreachable("b"), Unreachable("c")], replicationFactor: 3), channels);
        var error = await Assert.ThrowsAsync<IngestersUnavailableException>(async () => await reader.SeriesAsync("tenant", AnyCpu.Matchers, AnyCpu.Range, ct));
        Assert.Contains("needs 2 of 3 ingesters (replication factor 3)", error.Message);
        Assert.Equal(["b", "c"], error.MissingInstanceIds.Order());
    }

    [Fact]
    public async Task AReadThatCanNoLongerBeCompleteNamesTheReplicaItDidNotWaitFor()
    {
        var ct = TestContext.Current.CancellationToken;
        using var channels = new IngesterChannelPool();
        using var frozen = FrozenProcess(out var frozenAddress);
        InstanceDesc Unreachable(string id) => new() { Id = id, GrpcAddr = $"127.0.0.1:{ClosedPort()}", State = InstanceState.Active };
        var ring = new FixedRing([Unreachable("a"), Unreachable("b"), new InstanceDesc { Id = "frozen", GrpcAddr = frozenAddress, State = InstanceState.Active }], replicationFactor: 3);

        // Two failed calls already make the read incomplete: it answers at once, without the frozen member's deadline,
        // and still names all three, the frozen one as not waited for rather than as answered.
        var reader = new RemoteIngestersReader(ring, channels);
        var error = await Assert.ThrowsAsync<IngestersUnavailableException>(async () =>
            await reader.SeriesAsync("tenant", AnyCpu.Matchers, AnyCpu.Range, ct).AsTask().WaitAsync(TimeSpan.FromSeconds(20), ct));
        Assert.Equal(["a", "b", "frozen"], error.MissingInstanceIds.Order());
        Assert.Contains("; 0 did: ", error.Message);
        Assert.Contains($"frozen ({frozenAddress}) was not waited for: the read could no longer be complete", error.Message);
    }

    [Fact]
    public async Task AFrozenReplicaDoesNotHoldUpTheReadOnceEnoughAnswered()
    {
        var ct = TestContext.Current.CancellationToken;
        using var channels = new IngesterChannelPool();
        using var frozen = FrozenProcess(out var frozenAddress);
        var a = await TestIngesterServer.StartAsync("a");
        var b = await TestIngesterServer.StartAsync("b");
        try
        {
            InstanceDesc Member(string id, string address) => new() { Id = id, GrpcAddr = address, State = InstanceState.Active };
            var ring = new FixedRing([Member("a", a.GrpcAddress), Member("b", b.GrpcAddress), Member("frozen", frozenAddress)], replicationFactor: 3);
            // Without the quorum rule this read would wait out the one-minute call deadline on the frozen member
            // (and the test's own timeout would fail it): two of three replicas hold every acknowledged profile.
            var reader = new RemoteIngestersReader(ring, channels);
            var series = await reader.SeriesAsync("tenant", AnyCpu.Matchers, AnyCpu.Range, ct).AsTask().WaitAsync(TimeSpan.FromSeconds(20), ct);
            Assert.Equal(["a", "b"], series.Select(s => s.ToString()).Select(s => s.Contains("\"a\"", StringComparison.Ordinal) ? "a" : "b").Order());
        }
        finally
        {
            await a.StopAsync();
            await b.StopAsync();
        }
    }

    [Fact]
    public async Task CancellationIsHonoured()
    {
        using var channels = new IngesterChannelPool();
        var reader = new RemoteIngestersReader(new FixedRing(new InstanceDesc { Id = "ingester-1", GrpcAddr = $"127.0.0.1:{ClosedPort()}", State = InstanceState.Active }), channels);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await reader.StatsAsync("tenant", cancelled.Token));
    }

    [Fact]
    public async Task AnEmptyRingCannotProveAReadComplete()
    {
        using var channels = new IngesterChannelPool();
        var reader = new RemoteIngestersReader(new FixedRing(), channels);
        var ct = TestContext.Current.CancellationToken;
        var error = await Assert.ThrowsAsync<IngestersUnavailableException>(async () => await reader.ProfileTotalsAsync("tenant", AnyCpu, ct));
        Assert.Contains("the ring has no ingester", error.Message);
        await Assert.ThrowsAsync<IngestersUnavailableException>(async () => await reader.StatsAsync("tenant", ct));
    }

    [Fact]
    public void ReplicasOfAProfileCountOnce()
    {
        var api = LabelSet.From(new Label("service_name", "api"));
        var web = LabelSet.From(new Label("service_name", "web"));
        // Replication factor 2: ingester A and B both hold p1; p2 only on A, p3 only on B; unidentified profiles stay.
        var fromA = ReadProtocol.ToProto([new ProfileTotal(api, 1, 10, "p1"), new ProfileTotal(web, 2, 20, "p2"), new ProfileTotal(api, 5, 1, "")]);
        var fromB = ReadProtocol.ToProto([new ProfileTotal(api, 1, 10, "p1"), new ProfileTotal(api, 3, 30, "p3"), new ProfileTotal(api, 5, 1, "")]);
        var merged = RemoteIngestersReader.MergeTotals([fromA, fromB]);
        Assert.Equal(["p1", "p2", "p3", "", ""], merged.Select(t => t.ProfileId));
        Assert.Equal(10 + 20 + 30 + 1 + 1, merged.Sum(t => t.Value));
    }

    [Fact]
    public void EachProfileIsMergedFromOneIngesterOnly()
    {
        var api = LabelSet.From(new Label("service_name", "api"));
        var fromA = ReadProtocol.ToProto([new ProfileTotal(api, 1, 10, "p1"), new ProfileTotal(api, 2, 20, "p2")]);
        var fromB = ReadProtocol.ToProto([new ProfileTotal(api, 1, 10, "p1"), new ProfileTotal(api, 3, 30, "p3"), new ProfileTotal(api, 5, 1, "")]);
        var assignment = ReplicaAssignment.Of([("ingester-b", fromB), ("ingester-a", fromA)]);

        // p1 goes to the first holder by id, p2 and p3 to their only holders; unidentified profiles stay with theirs.
        Assert.Equal(["p1", "p2"], assignment.For("ingester-a").Order());
        Assert.Equal(["", "p3"], assignment.For("ingester-b").Order());
        Assert.Empty(assignment.For("ingester-c")); // answered no totals: merges nothing

        var request = ReadProtocol.ToProto(AnyCpu);
        var forB = assignment.RequestFor(request, "ingester-b");
        Assert.True(forB.HasProfileFilter);
        Assert.Equal(["", "p3"], forB.ProfileIds.Order());
        // A profile no ingester reported (a write arriving after the totals round) is merged by none.
        Assert.True(assignment.RequestFor(request, "ingester-c").HasProfileFilter);
        Assert.Empty(assignment.RequestFor(request, "ingester-c").ProfileIds);
        Assert.False(request.HasProfileFilter); // the shared request is not modified
    }

    [Fact]
    public void AProfileTheStoreAlreadyCountsIsMergedFromNoIngester()
    {
        var api = LabelSet.From(new Label("service_name", "api"));
        var fromA = ReadProtocol.ToProto([new ProfileTotal(api, 1, 10, "p1"), new ProfileTotal(api, 2, 20, "p2")]);
        var fromB = ReadProtocol.ToProto([new ProfileTotal(api, 1, 10, "p1"), new ProfileTotal(api, 3, 30, "p3")]);
        // The store snapshot holds p1 (one replica's uploaded block) and p3.
        var assignment = ReplicaAssignment.Of([("ingester-a", fromA), ("ingester-b", fromB)], new HashSet<string>(["p1", "p3"]));
        // Every ingester leaves out what the store counts; p2 stays with its only holder.
        Assert.Equal(["p2"], assignment.For("ingester-a"));
        Assert.Empty(assignment.For("ingester-b"));
    }

    [Fact]
    public void TotalsInBothTheStoreAndAnIngesterCountOnce()
    {
        var api = LabelSet.From(new Label("service_name", "api"));
        var web = LabelSet.From(new Label("service_name", "web"));
        List<ProfileTotal> fromStore = [new(api, 1, 10, "p1"), new(api, 4, 1, "")];
        // p1 again (another replica), p1 under another series is a different profile, unidentified ones all stay.
        List<ProfileTotal> fromIngesters = [new(api, 1, 10, "p1"), new(web, 1, 7, "p1"), new(api, 2, 20, "p2"), new(api, 4, 1, "")];
        var merged = StoreAndIngestersReader.MergeTotals(fromStore, fromIngesters);
        Assert.Equal(10 + 1 + 7 + 20 + 1, merged.Sum(t => t.Value));
        Assert.Equal(5, merged.Count);
        Assert.True(merged.SequenceEqual(merged.OrderBy(t => t.TimestampMs)));
    }

    [Fact]
    public void StatsSpanAllIngestersWithData()
    {
        var stats = RemoteIngestersReader.Combine([
            new StatsResponse { DataIngested = true, OldestProfileMs = 50, NewestProfileMs = 60 },
            new StatsResponse(),
            new StatsResponse { DataIngested = true, OldestProfileMs = 10, NewestProfileMs = 40 },
        ]);
        Assert.Equal(new ProfileStats(true, 10, 60), stats);
    }

    /// <summary>A port nothing listens on: bound then released.</summary>
    /// <summary>Stands in for a frozen process (SIGSTOP): the kernel accepts its connections, nothing ever answers.</summary>
    private static TcpListener FrozenProcess(out string address)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        address = $"127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}";
        return listener;
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
