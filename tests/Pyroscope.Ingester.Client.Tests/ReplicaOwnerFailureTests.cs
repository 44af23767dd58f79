using System.Net;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Model;
using Pyroscope.Ring;
using Pyroscope.Testing;
using MatchType = Pyroscope.Model.MatchType;

namespace Pyroscope.Ingester.Client.Tests;

/// <summary>
/// A replica that answered the totals round and then fails the merge (an ingester stopping between the two) must not
/// fail a read that the replica left out of the quorum can still complete: every acknowledged profile, exactly once.
/// Three real gRPC ingesters on loopback, each holding the same replicated profile.
/// </summary>
public sealed class ReplicaOwnerFailureTests
{
    private static readonly SelectQuery AnyCpu = new([new LabelMatcher("service_name", MatchType.Equal, "api")], new TimeRange(0, 100));

    [Fact]
    public async Task An_owner_failing_after_the_quorum_round_is_replaced_by_the_replica_left_out()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var failsMerge = await FakeReplica.StartAsync(FakeReplica.Behaviour.FailsMerge);
        await using var healthy = await FakeReplica.StartAsync(FakeReplica.Behaviour.Healthy);
        // Answers the totals last, so the first round's quorum is the two others.
        await using var late = await FakeReplica.StartAsync(FakeReplica.Behaviour.LateTotals);
        using var channels = new IngesterChannelPool();
        var reader = ReaderOf(channels, ("fails-merge", failsMerge), ("healthy", healthy), ("late", late));

        var sink = new SummingSink();
        await reader.MergeStacksAsync("tenant", AnyCpu, sink, ct);

        Assert.Equal(new Dictionary<string, long> { ["main;work"] = FakeReplica.Value }, sink.Stacks);
        Assert.True(failsMerge.MergeCalls > 0, "the failing replica was asked to merge");
        Assert.True(late.MergeCalls > 0, "the replica left out of the first quorum finished the read");
    }

    [Fact]
    public async Task A_replica_that_receives_the_write_between_the_two_rounds_does_not_count_it_again()
    {
        var ct = TestContext.Current.CancellationToken;
        // The write was acknowledged by two replicas; the third receives it only after its totals said it had nothing.
        await using var holder = await FakeReplica.StartAsync(FakeReplica.Behaviour.Healthy);
        await using var slow = await FakeReplica.StartAsync(FakeReplica.Behaviour.GetsTheWriteBetweenRounds);
        // The other holder does not answer in time, so the quorum of the totals round is the holder and the slow one.
        await using var silent = await FakeReplica.StartAsync(FakeReplica.Behaviour.SilentInTotals);
        using var channels = new IngesterChannelPool();
        var reader = ReaderOf(channels, ("holder", holder), ("silent", silent), ("slow", slow));

        var sink = new SummingSink();
        await reader.MergeStacksAsync("tenant", AnyCpu, sink, ct);

        Assert.True(slow.MergeCalls > 0, "the slow replica took part in the merge round");
        Assert.Equal(new Dictionary<string, long> { ["main;work"] = FakeReplica.Value }, sink.Stacks);
    }

    [Fact]
    public async Task With_too_few_replicas_left_the_read_is_503_naming_them()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var a = await FakeReplica.StartAsync(FakeReplica.Behaviour.FailsMerge);
        await using var b = await FakeReplica.StartAsync(FakeReplica.Behaviour.FailsMerge);
        await using var c = await FakeReplica.StartAsync(FakeReplica.Behaviour.LateTotals);
        using var channels = new IngesterChannelPool();
        var reader = ReaderOf(channels, ("a", a), ("b", b), ("c", c));

        var error = await Assert.ThrowsAsync<IngestersUnavailableException>(async () => await reader.MergeStacksAsync("tenant", AnyCpu, new SummingSink(), ct));
        Assert.Contains("a (", error.Message);
        Assert.Contains("b (", error.Message);
    }

    /// <summary>A reader of the replicas as ACTIVE members of one ring with replication factor 3.</summary>
    private static RemoteIngestersReader ReaderOf(IngesterChannelPool channels, params (string Id, FakeReplica Replica)[] members)
    {
        var ring = new FixedRing([.. members.Select(m => new InstanceDesc { Id = m.Id, GrpcAddr = m.Replica.GrpcAddress, State = InstanceState.Active })], replicationFactor: 3);
        return new RemoteIngestersReader(ring, channels);
    }

    private sealed class SummingSink : IStackSink
    {
        private readonly List<string> _names = [];

        public Dictionary<string, long> Stacks { get; } = [];

        public int Intern(string frameName)
        {
            _names.Add(frameName);
            return _names.Count - 1;
        }

        public void Add(ReadOnlySpan<int> rootToLeaf, long value)
        {
            var names = new string[rootToLeaf.Length];
            for (var i = 0; i < names.Length; i++)
            {
                names[i] = _names[rootToLeaf[i]];
            }
            var key = string.Join(';', names);
            Stacks[key] = Stacks.GetValueOrDefault(key) + value;
        }
    }

    private sealed class FakeReplica : IAsyncDisposable
    {
        public const long Value = 10;
        private const string ProfileId = "0b9d5c1e-0000-4000-8000-000000000001";

        public enum Behaviour
        {
            Healthy,
            FailsMerge,
            LateTotals,

            /// <summary>Never answers the totals round (the read goes on without it once the others answered).</summary>
            SilentInTotals,

            /// <summary>The slow replica of the write: its totals do not have the profile yet, its merge does.</summary>
            GetsTheWriteBetweenRounds,
        }

        private readonly WebApplication _app;
        private int _mergeCalls;

        private FakeReplica(WebApplication app, string address, Behaviour behaviour)
        {
            _app = app;
            GrpcAddress = address;
            Mode = behaviour;
        }

        public string GrpcAddress { get; }

        public Behaviour Mode { get; }

        public int MergeCalls => Volatile.Read(ref _mergeCalls);

        public static async Task<FakeReplica> StartAsync(Behaviour behaviour)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
            builder.Services.AddGrpc();
            var holder = new Holder();
            builder.Services.AddSingleton(holder);
            var app = builder.Build();
            app.MapGrpcService<Service>();
            await app.StartAsync();
            var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Authority;
            var replica = new FakeReplica(app, address, behaviour);
            holder.Replica = replica;
            return replica;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        private sealed class Holder
        {
            public FakeReplica? Replica { get; set; }
        }

        private sealed class Service(Holder holder) : IngesterService.IngesterServiceBase
        {
            private FakeReplica Replica => holder.Replica!;

            public override async Task<ProfileTotalsResponse> ProfileTotals(SelectRequest request, ServerCallContext context)
            {
                if (Replica.Mode == Behaviour.LateTotals)
                {
                    // Late, not lost: the read's quorum round does not wait for it, a second round does.
                    await Task.Delay(TimeSpan.FromMilliseconds(500), context.CancellationToken);
                }
                if (Replica.Mode == Behaviour.SilentInTotals)
                {
                    await Task.Delay(Timeout.Infinite, context.CancellationToken);
                }
                var response = new ProfileTotalsResponse();
                if (Replica.Mode == Behaviour.GetsTheWriteBetweenRounds)
                {
                    return response;
                }
                response.Series.Add(new Contracts.Types.V1.Labels { Labels_ = { new Contracts.Types.V1.LabelPair { Name = "service_name", Value = "api" } } });
                response.Totals.Add(new ProfileTotalEntry { SeriesIndex = 0, TimestampMs = 50, Value = Value, ProfileId = ProfileId });
                return response;
            }

            public override Task<StackSet> MergeStacks(SelectRequest request, ServerCallContext context)
            {
                Interlocked.Increment(ref Replica._mergeCalls);
                if (Replica.Mode == Behaviour.FailsMerge)
                {
                    throw new RpcException(new Status(StatusCode.Unavailable, "shutting down"));
                }
                var set = new StackSet();
                // As a real ingester: exclusions (older queriers) and the profile filter both apply.
                if (!request.ExcludeProfileIds.Contains(ProfileId) && (!request.HasProfileFilter || request.ProfileIds.Contains(ProfileId)))
                {
                    set.Names.Add(["main", "work"]);
                    set.Parents.Add([-1, 0]);
                    set.NameIds.Add([0, 1]);
                    set.Values.Add([0, Value]);
                }
                return Task.FromResult(set);
            }
        }
    }
}
