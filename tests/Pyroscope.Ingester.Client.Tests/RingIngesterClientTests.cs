using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pyroscope.Contracts.Google.V1;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Contracts.Types.V1;
using Pyroscope.Model;
using Pyroscope.Ring;
using Pyroscope.Ring.Kv;
using Pyroscope.Testing;
using Label = Pyroscope.Model.Label;

namespace Pyroscope.Ingester.Client.Tests;

/// <summary>The distributor's ring client against three real gRPC ingesters (Kestrel, HTTP/2 cleartext, free ports).</summary>
public sealed class RingIngesterClientTests : IAsyncLifetime
{
    private const int SeriesCount = 60;
    private readonly List<TestIngesterServer> _servers = [];
    private readonly InMemoryRingKvStore _kv = new();
    private readonly IngesterChannelPool _channels = new();
    private Profile _profile = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _profile = LoadFixtureProfile();
        for (var i = 0; i < 3; i++)
        {
            _servers.Add(await TestIngesterServer.StartAsync($"ingester-{i}"));
        }
        var taken = new HashSet<uint>();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await _kv.CasRingAsync(RingOptions.DefaultKey, ring =>
        {
            foreach (var server in _servers)
            {
                var tokens = RingTokens.Generate(128, taken);
                taken.UnionWith(tokens);
                ring.Instances[server.Id] = new InstanceDesc
                {
                    Id = server.Id,
                    GrpcAddr = server.GrpcAddress,
                    State = InstanceState.Active,
                    Tokens = tokens,
                    HeartbeatTimestampMs = now,
                    RegisteredTimestampMs = now,
                };
            }
            return true;
        }, Ct);
    }

    private static Profile LoadFixtureProfile()
    {
        using var gzip = new GZipStream(File.OpenRead(RepositoryPaths.Fixture("go/go-cpu.pb.gz")), CompressionMode.Decompress);
        return Profile.Parser.ParseFrom(gzip);
    }

    private async Task<(RingIngesterClient Client, RingClient Ring)> ClientAsync(int replicationFactor)
    {
        var options = new RingOptions { ReplicationFactor = replicationFactor };
        var ring = new RingClient(_kv, options, TimeProvider.System, NullLogger<RingClient>.Instance);
        await ring.RefreshAsync(Ct);
        return (new RingIngesterClient(ring, _channels, NullLogger<RingIngesterClient>.Instance) { RemoteTimeout = TimeSpan.FromSeconds(30) }, ring);
    }

    private PushRequest Request(string batch)
    {
        var request = new PushRequest();
        for (var i = 0; i < SeriesCount; i++)
        {
            var labels = LabelSet.From(
                new Label("service_name", $"app-{i % 7}"),
                new Label("pod", $"pod-{i}"),
                new Label("__name__", "process_cpu"));
            var series = new ProfileSeries { Profile = _profile, Id = $"{batch}-{i}", Fingerprint = labels.Fingerprint };
            foreach (var label in labels.Labels)
            {
                series.Labels.Add(new LabelPair { Name = label.Name, Value = label.Value });
            }
            request.Series.Add(series);
        }
        return request;
    }

    private static string[] Ids(PushRequest request) => [.. request.Series.Select(s => s.Id).Order()];

    [Fact]
    public async Task With_rf3_writes_succeed_with_one_replica_down_and_fail_with_two_down()
    {
        var (client, _) = await ClientAsync(3);

        var first = Request("all-up");
        await client.PushAsync("tenant-a", first, Ct);
        foreach (var server in _servers)
        {
            // The push returns at quorum (2 of 3); the third replica completes in the background.
            await Poll.UntilAsync(() => server.Ids("tenant-a").Intersect(Ids(first)).Count() == SeriesCount, $"{server.Id} has every series");
        }
        var received = _servers[0].Received.First().Series;
        Assert.Equal(_profile.Sample.Count, received.Profile.Sample.Count);
        Assert.Equal(_profile, received.Profile);

        await _servers[0].StopAsync();
        var second = Request("one-down");
        await client.PushAsync("tenant-a", second, Ct);
        foreach (var server in _servers.Skip(1))
        {
            await Poll.UntilAsync(() => server.Ids("tenant-a").Intersect(Ids(second)).Count() == SeriesCount, $"{server.Id} has every series");
        }

        await _servers[1].StopAsync();
        var error = await Assert.ThrowsAsync<IngesterQuorumException>(() => client.PushAsync("tenant-a", Request("two-down"), Ct));
        Assert.Contains(_servers[0].GrpcAddress, error.Message);
        Assert.Contains(_servers[1].GrpcAddress, error.Message);
        Assert.Equal(["ingester-0", "ingester-1"], error.Failures.Select(f => f.InstanceId).Distinct().Order());
        // Unavailable (connection refused) or Internal (a GOAWAY racing the shutdown): a gRPC status either way.
        Assert.All(error.Failures, f => Assert.True(f.StatusCode is StatusCode.Unavailable or StatusCode.Internal, $"{f.StatusCode}"));
    }

    [Fact]
    public async Task Every_series_reaches_exactly_its_replication_set()
    {
        var (client, ring) = await ClientAsync(2);
        var request = Request("rf2");
        var fingerprints = request.Series.ToDictionary(s => s.Id, s => s.Fingerprint);
        // Series without a fingerprint are placed by the fingerprint of their labels.
        foreach (var series in request.Series.Where((_, i) => i % 2 == 1))
        {
            series.Fingerprint = 0;
        }
        await client.PushAsync("tenant-b", request, Ct);

        // RF=2 with all replicas healthy means a quorum of 2: both replicas have acknowledged on return.
        foreach (var series in request.Series)
        {
            var expected = ring.GetReplicationSet(RingTokens.FromFingerprint(fingerprints[series.Id]), 2).Instances.Select(i => i.Id).Order().ToArray();
            var actual = _servers.Where(s => s.Ids("tenant-b").Contains(series.Id)).Select(s => s.Id).Order().ToArray();
            Assert.Equal(expected, actual);
        }
        // Each ingester got its series in one batched Push, not one call per series.
        Assert.All(_servers, s => Assert.Single(s.Received.Where(r => r.Tenant == "tenant-b").Select(r => r.Call).Distinct()));
    }

    [Fact]
    public async Task A_push_normalised_here_goes_once_as_received_to_each_ingester_with_the_series_it_stores()
    {
        var (client, ring) = await ClientAsync(1);
        var raw = File.ReadAllBytes(RepositoryPaths.Fixture("go/go-cpu.pb.gz"));
        var context = new Pyroscope.Model.Ingest.PushContext(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000, 0, 0, 0, 42);
        var profiles = new List<Pyroscope.Model.Ingest.PushedProfile>();
        using var push = new Pyroscope.Model.Ingest.IngestPush(context, profiles);
        var limits = new TenantLimits { RejectOlderThan = TimeSpan.Zero, RejectNewerThan = TimeSpan.Zero };
        var seriesSoFar = 0;
        for (var pod = 0; pod < 20; pod++)
        {
            Label[] labels = [new("service_name", "app"), new("pod", $"pod-{pod}"), new("__name__", "process_cpu")];
            var parsed = Pyroscope.Formats.Pprof.PprofReader.Read(raw, long.MaxValue, "go-cpu", out var size);
            var normalized = Pyroscope.Formats.Normalization.ProfileNormalizer.Normalize(parsed, labels, limits,
                new Pyroscope.Formats.Normalization.NormalizeContext(context.NowNanos, 0, size) { SeriesSoFar = seriesSoFar, IdSeed = context.IdSeed });
            profiles.Add(new Pyroscope.Model.Ingest.PushedProfile(labels, raw, Pyroscope.Model.Ingest.PprofFixups.None, normalized));
            seriesSoFar += normalized.Series.Count;
        }
        var all = push.Series().Select(s => s.Series).ToList();
        Assert.True(all.Count > 20, "go-cpu splits into several series per pod");

        await client.PushAsync("tenant-r", push, Ct);

        // One Push per ingester, all with the same body (the received gzip bytes, not normalised series).
        var pushes = _servers.SelectMany(s => s.ReceivedPushes.Where(r => r.Tenant == "tenant-r").Select(r => (Server: s.Id, r.Body, r.Series))).ToList();
        Assert.Equal(pushes.Count, pushes.Select(p => p.Server).Distinct().Count());
        Assert.All(pushes, p => Assert.Equal(pushes[0].Body, p.Body));
        Assert.True(pushes[0].Body.Length < raw.Length * 20 + 4096, "the body carries the received bytes");
        Assert.All(_servers, s => Assert.DoesNotContain(s.Received, r => r.Tenant == "tenant-r"));
        var decoded = WalRecordCodec.DecodeBody(pushes[0].Body, []);
        Assert.Equal(context, decoded.Context);
        Assert.Equal(20, decoded.Profiles.Count);
        Assert.Equal(raw, decoded.Profiles[0].Payload.ToArray());
        // RF 1: every series exactly once, on the ingester the ring places it on.
        Assert.Equal(Enumerable.Range(0, all.Count), pushes.SelectMany(p => p.Series).Select(i => (int)i).Order());
        foreach (var (server, _, series) in pushes)
        {
            foreach (var index in series)
            {
                var owner = ring.GetReplicationSet(RingTokens.FromFingerprint(all[(int)index].Labels.Fingerprint), 1).Instances.Single().Id;
                Assert.Equal(owner, server);
            }
        }
    }

    [Fact]
    public async Task A_ring_without_enough_healthy_members_fails_before_pushing()
    {
        await _kv.CasRingAsync(RingOptions.DefaultKey, ring =>
        {
            foreach (var instance in ring.Instances.Values)
            {
                instance.HeartbeatTimestampMs = 0; // long expired
            }
            return true;
        }, Ct);
        var (client, _) = await ClientAsync(3);
        var error = await Assert.ThrowsAsync<RingUnavailableException>(() => client.PushAsync("tenant-c", Request("stale"), Ct));
        Assert.Contains("at least 2 live replicas required, could only find 0", error.Message);
        Assert.All(_servers, s => Assert.Empty(s.Received));
    }

    [Fact]
    public async Task Channels_to_members_that_left_the_ring_are_closed()
    {
        var (client, ring) = await ClientAsync(3);
        await client.PushAsync("tenant-d", Request("before"), Ct);
        Assert.Equal(_servers.Select(s => s.GrpcAddress).Order(), _channels.Addresses.Order());

        await _kv.CasRingAsync(RingOptions.DefaultKey, r => r.Instances.Remove(_servers[2].Id), Ct);
        await ring.RefreshAsync(Ct);
        await client.PushAsync("tenant-d", Request("after"), Ct);
        Assert.Equal(_servers.Take(2).Select(s => s.GrpcAddress).Order(), _channels.Addresses.Order());
    }

    [Fact]
    public async Task A_push_larger_than_the_ingesters_message_limit_is_refused_as_too_large_not_as_the_series_limit()
    {
        // 4 KiB per message: the fixture's 9.4 KB profile does not fit.
        var small = await TestIngesterServer.StartAsync("ingester-small", maxReceiveBytes: 4096);
        _servers.Add(small);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await _kv.CasRingAsync(RingOptions.DefaultKey, ring =>
        {
            ring.Instances.Clear();
            ring.Instances[small.Id] = new InstanceDesc
            {
                Id = small.Id, GrpcAddr = small.GrpcAddress, State = InstanceState.Active,
                Tokens = RingTokens.Generate(128, new HashSet<uint>()), HeartbeatTimestampMs = now, RegisteredTimestampMs = now,
            };
            return true;
        }, Ct);
        var (client, _) = await ClientAsync(1);

        var error = await Assert.ThrowsAsync<PushTooLargeForIngesterException>(() => client.PushAsync("tenant-e", Request("too-large"), Ct));
        Assert.Contains(small.GrpcAddress, error.Message);
        Assert.Contains("-server.grpc-max-recv-msg-size-bytes", error.Message);
        Assert.Empty(small.Received);
    }

    public async ValueTask DisposeAsync()
    {
        _channels.Dispose();
        foreach (var server in _servers)
        {
            await server.StopAsync();
        }
    }
}

/// <summary>A real gRPC ingester endpoint that records what it was sent.</summary>
internal sealed class TestIngesterServer
{
    private WebApplication? _app;

    private TestIngesterServer(string id) => Id = id;

    public string Id { get; }

    public string GrpcAddress { get; private set; } = "";

    public ConcurrentQueue<(string Tenant, ProfileSeries Series, int Call)> Received { get; } = new();

    private int _calls;

    /// <summary>Pushes as received (<c>PushRequest.received</c>): the body and the series indexes this ingester stores.</summary>
    public ConcurrentQueue<(string Tenant, byte[] Body, uint[] Series)> ReceivedPushes { get; } = new();

    public IEnumerable<string> Ids(string tenant) => Received.Where(r => r.Tenant == tenant).Select(r => r.Series.Id);

    public static async Task<TestIngesterServer> StartAsync(string id, int? maxReceiveBytes = null)
    {
        var server = new TestIngesterServer(id);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc(grpc => grpc.MaxReceiveMessageSize = maxReceiveBytes ?? grpc.MaxReceiveMessageSize);
        builder.Services.AddSingleton(server);
        var app = builder.Build();
        app.MapGrpcService<RecordingIngesterService>();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.GrpcAddress = new Uri(address).Authority;
        server._app = app;
        return server;
    }

    public async Task StopAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private sealed class RecordingIngesterService(TestIngesterServer server) : IngesterService.IngesterServiceBase
    {
        public override Task<PushResponse> Push(PushRequest request, ServerCallContext context)
        {
            var tenant = context.RequestHeaders.GetValue("x-scope-orgid")
                ?? throw new RpcException(new Status(StatusCode.InvalidArgument, "no tenant"));
            var call = Interlocked.Increment(ref server._calls);
            foreach (var series in request.Series)
            {
                server.Received.Enqueue((tenant, series, call));
            }
            if (!request.Received.IsEmpty)
            {
                server.ReceivedPushes.Enqueue((tenant, request.Received.ToByteArray(), [.. request.ReceivedSeries]));
            }
            return Task.FromResult(new PushResponse());
        }

        /// <summary>One series naming this ingester, so a reader can tell whose answers it used.</summary>
        public override Task<SeriesResponse> Series(SeriesRequest request, ServerCallContext context) =>
            Task.FromResult(new SeriesResponse { Series = { new Contracts.Types.V1.Labels { Labels_ = { new LabelPair { Name = "ingester", Value = server.Id } } } } });
    }
}
