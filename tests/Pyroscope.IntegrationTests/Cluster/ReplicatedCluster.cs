using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Contracts.Querier.V1;
using Pyroscope.Testing;

namespace Pyroscope.IntegrationTests.Cluster;

/// <summary>
/// Microservices over loopback: a real redis-server holding the ring, three ingesters (replication factor 3, so any two
/// hold every acknowledged profile), a distributor and a querier sharing a filesystem object store. Heartbeats are
/// fast (250 ms, unhealthy after 3 s) so that failures become visible in seconds. Ingesters keep their id, ports and
/// data directory across restarts, as a pod would. One go-cpu fixture profile is pushed as service "chaos".
/// </summary>
public sealed class ReplicatedCluster : IAsyncDisposable
{
    public const string ProfileType = "process_cpu:cpu:nanoseconds:cpu:nanoseconds";
    public const string Service = "chaos";
    public static readonly TimeSpan HeartbeatTimeout = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    private readonly string _root;
    private readonly string[] _common;
    private readonly PyroscopeProcess?[] _ingesters = new PyroscopeProcess?[3];
    private PyroscopeProcess? _distributor;
    private PyroscopeProcess? _querier;

    private ReplicatedCluster(RedisServer redis, string root, byte[] profileBytes, Contracts.Google.V1.Profile profile)
    {
        Redis = redis;
        _root = root;
        ProfileBytes = profileBytes;
        Expected = ExpectedStacks.FromPprof(profile, 1);
        ProfileTimeMs = profile.TimeNanos / 1_000_000;
        _common =
        [
            "-self-profiling.disable-push=true", "-ring.store=redis", $"-ring.redis.address={redis.Address}",
            $"-storage.filesystem.dir={SharedStore}", "-distributor.replication-factor=3",
            "-ring.heartbeat-period=250ms", $"-ring.heartbeat-timeout={HeartbeatTimeout.TotalSeconds}s",
        ];
    }

    public RedisServer Redis { get; }

    public string SharedStore => Path.Combine(_root, "store");

    public byte[] ProfileBytes { get; }

    /// <summary>Every stack of the pushed profile and its value: what a complete read of <see cref="Service"/> answers.</summary>
    public Dictionary<string, long> Expected { get; }

    public long ProfileTimeMs { get; }

    public static string IngesterId(int index) => $"ingester-{index}";

    public static IReadOnlyList<string> IngesterIds => [IngesterId(0), IngesterId(1), IngesterId(2)];

    public PyroscopeProcess Ingester(int index) => _ingesters[index] ?? throw new InvalidOperationException($"{IngesterId(index)} is not running");

    public PyroscopeProcess Distributor => _distributor!;

    public PyroscopeProcess Querier => _querier!;

    /// <summary>Starts everything, waits until every ingester is ACTIVE for both the distributor and the querier, and pushes the profile.</summary>
    public static async Task<ReplicatedCluster> StartAsync(CancellationToken ct)
    {
        var bytes = await File.ReadAllBytesAsync(RepositoryPaths.Fixture("go/go-cpu.pb.gz"), ct);
        var root = Directory.CreateTempSubdirectory("pyroscope-replicated-").FullName;
        var cluster = new ReplicatedCluster(await RedisServer.StartAsync(), root, bytes, ExpectedStacks.ParsePprof(bytes));
        try
        {
            var starting = new List<Task>();
            for (var i = 0; i < 3; i++)
            {
                starting.Add(cluster.StartIngesterAsync(i, httpPort: null, grpcPort: null));
            }
            var distributor = PyroscopeProcess.StartReadyAsync("Pyroscope.Distributor", cluster._common);
            var querier = PyroscopeProcess.StartReadyAsync("Pyroscope.Querier", cluster._common);
            try
            {
                await Task.WhenAll([.. starting, distributor, querier]);
            }
            finally
            {
                cluster._distributor = await StartedOrNullAsync(distributor);
                cluster._querier = await StartedOrNullAsync(querier);
            }
            await cluster.WaitUntilAllActiveAsync(ct);
            var push = await cluster.PushAsync(Service, ct);
            Assert.True(push.Status == HttpStatusCode.OK, $"the first push answered {(int)push.Status}: {push.Body}");
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts ingester <paramref name="index"/> (again: same id, ports and data) and waits until it serves.</summary>
    public async Task StartIngesterAsync(int index, int? httpPort, int? grpcPort)
    {
        var data = Directory.CreateDirectory(Path.Combine(_root, IngesterId(index))).FullName;
        string[] args = [.. _common, $"-ring.instance-id={IngesterId(index)}", "-ring.instance-addr=127.0.0.1"];
        for (var attempt = 1; ; attempt++)
        {
            var process = PyroscopeProcess.Start("Pyroscope.Ingester", args, data, null,
                httpPort ?? FreePort.Next(), grpcPort ?? FreePort.Next());
            try
            {
                await process.WaitUntilReadyAsync(Patience);
                _ingesters[index] = process;
                return;
            }
            catch (InvalidOperationException) when (httpPort is null && attempt < 5 && process.Output.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                await process.DisposeAsync();
            }
            catch
            {
                await process.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>SIGKILL, as a crash; returns once the process is gone.</summary>
    public async Task KillIngesterAsync(int index)
    {
        var process = Ingester(index);
        process.Kill();
        await process.WaitForExitAsync(Patience);
    }

    /// <summary>SIGKILL, then a new process on the same ports and data (its WAL brings back what it acknowledged).</summary>
    public async Task RestartKilledIngesterAsync(int index)
    {
        var old = Ingester(index);
        _ingesters[index] = null;
        // A SIGKILL is not instantaneous: wait until the process is gone before starting its successor.
        await old.DisposeAsync();
        await StartIngesterAsync(index, old.HttpPort, old.GrpcPort);
    }

    /// <summary>
    /// Makes every ingester run again: frozen ones carry on (SIGCONT is harmless to a running process), dead ones
    /// restart on their data. Returns the indexes restarted.
    /// </summary>
    public async Task<IReadOnlyList<int>> ReviveAllAsync()
    {
        var dead = new List<int>();
        for (var i = 0; i < _ingesters.Length; i++)
        {
            if (_ingesters[i] is { } process && !process.Process.HasExited)
            {
                process.Thaw();
            }
            else
            {
                dead.Add(i);
            }
        }
        await Task.WhenAll(dead.Select(RestartKilledIngesterAsync));
        return dead;
    }

    /// <summary>
    /// Waits until the ring holds three ACTIVE, healthy ingesters, those in <paramref name="restarted"/> registered no
    /// earlier than <paramref name="registeredSinceMs"/>, and both the distributor and the querier route by that ring.
    /// </summary>
    public async Task WaitUntilAllActiveAsync(CancellationToken ct, long registeredSinceMs = 0, IReadOnlySet<string>? restarted = null)
    {
        foreach (var (name, process) in new[] { ("the distributor", Distributor), ("the querier", Querier) })
        {
            await Query.EventuallyAsync(async () =>
            {
                var ring = await RingStatus.ReadAsync(process, ct);
                return ring.InUseVersion >= ring.Version && ring.Members.Count(m => m.State == "ACTIVE" && m.Healthy && (restarted?.Contains(m.Id) != true || m.RegisteredMs >= registeredSinceMs)) == 3;
            }, Patience, $"{name} routes by a ring of three healthy ACTIVE ingesters");
        }
    }

    /// <summary>Each ingester's pid and process state (R/S running, T stopped, gone), for failure messages.</summary>
    public string DescribeIngesters()
    {
        var parts = new List<string>();
        for (var i = 0; i < _ingesters.Length; i++)
        {
            var process = _ingesters[i];
            var state = process is null || process.Process.HasExited ? "gone" : ProcessState(process.Process.Id);
            parts.Add($"{IngesterId(i)} pid {process?.Process.Id} {state} grpc {process?.GrpcPort}");
        }
        return string.Join("; ", parts);
    }

    private static string ProcessState(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
        }
        catch (IOException)
        {
            return "gone";
        }
    }

    /// <summary>Pushes the fixture profile as <paramref name="service"/> through the distributor.</summary>
    public async Task<(HttpStatusCode Status, string Body)> PushAsync(string service, CancellationToken ct)
    {
        using var content = new ByteArrayContent(ProfileBytes);
        using var response = await Distributor.Http.PostAsync($"/ingest?name={service}&format=pprof", content, ct);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(ct));
    }

    /// <summary>SelectMergeStacktraces of <paramref name="service"/> over Connect (protobuf), as Grafana asks.</summary>
    public async Task<ReadOutcome> ReadAsync(string service, CancellationToken ct)
    {
        var request = new SelectMergeStacktracesRequest
        {
            ProfileTypeID = ProfileType,
            LabelSelector = $"{{service_name=\"{service}\"}}",
            Start = ProfileTimeMs - 3_600_000,
            End = ProfileTimeMs + 3_600_000,
            MaxNodes = 1 << 20,
        };
        using var content = new ByteArrayContent(request.ToByteArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/proto");
        using var message = new HttpRequestMessage(HttpMethod.Post, "/querier.v1.QuerierService/SelectMergeStacktraces") { Content = content };
        message.Headers.Add("Connect-Protocol-Version", "1");
        using var response = await Querier.Http.SendAsync(message, ct);
        var body = await response.Content.ReadAsByteArrayAsync(ct);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return new ReadOutcome(response.StatusCode, null, System.Text.Encoding.UTF8.GetString(body));
        }
        var flamegraph = SelectMergeStacktracesResponse.Parser.ParseFrom(body).Flamegraph;
        var levels = flamegraph.Levels.Select(l => (IReadOnlyList<long>)l.Values.ToList()).ToList();
        return new ReadOutcome(response.StatusCode, ExpectedStacks.FromFlameGraph(flamegraph.Names, levels), null);
    }

    /// <summary>The service names ingester <paramref name="index"/> itself holds, asked over its own gRPC port.</summary>
    public async Task<IReadOnlyList<string>> ServicesOnIngesterAsync(int index, CancellationToken ct)
    {
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{Ingester(index).GrpcPort}");
        var client = new IngesterService.IngesterServiceClient(channel);
        var answer = await client.LabelValuesAsync(
            new LabelValuesRequest { Name = "service_name", Range = new ReadRange { StartMs = ProfileTimeMs - 3_600_000, EndMs = ProfileTimeMs + 3_600_000 } },
            new Metadata { { "x-scope-orgid", "anonymous" } }, cancellationToken: ct);
        return [.. answer.Values];
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in new[] { _querier, _distributor, _ingesters[0], _ingesters[1], _ingesters[2] })
        {
            if (process is not null)
            {
                // SIGKILL ends frozen processes too.
                await process.DisposeAsync();
            }
        }
        await Redis.DisposeAsync();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp directory left behind is harmless.
        }
    }

    private static async Task<PyroscopeProcess?> StartedOrNullAsync(Task<PyroscopeProcess> starting)
    {
        try
        {
            return await starting;
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
        {
            return null;
        }
    }
}

/// <summary>One answer of the querier: 200 with the merged stacks, or an error status with its body.</summary>
public sealed record ReadOutcome(HttpStatusCode Status, Dictionary<string, long>? Stacks, string? Error)
{
    /// <summary>The ingester ids the error message names.</summary>
    public IReadOnlyList<string> NamedIngesters =>
        Error is null ? [] : [.. ReplicatedCluster.IngesterIds.Where(id => Error.Contains(id, StringComparison.Ordinal))];

    /// <summary>
    /// The ingester ids the error message gives as a cause (failed, unhealthy in the ring), leaving out those it names
    /// only as not waited for or not asked (healthy, but the others had already made the read incomplete).
    /// </summary>
    public IReadOnlyList<string> BlamedIngesters =>
        Error is null ? [] : [.. ReplicatedCluster.IngesterIds.Where(id => Blames(Error, id))];

    private static bool Blames(string error, string id)
    {
        for (var at = error.IndexOf(id, StringComparison.Ordinal); at >= 0; at = error.IndexOf(id, at + id.Length, StringComparison.Ordinal))
        {
            var end = error.IndexOf("; ", at, StringComparison.Ordinal);
            var reason = end < 0 ? error[at..] : error[at..end];
            if (!reason.Contains("was not waited for", StringComparison.Ordinal) && !reason.Contains("was not asked", StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

    public override string ToString() => Status == HttpStatusCode.OK ? $"200 with {Stacks!.Count} stacks, total {Stacks.Values.Sum()}" : $"{(int)Status} {Error}";
}

/// <summary>GET /ring as JSON: what the KV store holds and which version this process uses.</summary>
public sealed record RingStatus(long Version, long InUseVersion, IReadOnlyList<RingStatus.Member> Members)
{
    public sealed record Member(string Id, string State, bool Healthy, long RegisteredMs);

    public static async Task<RingStatus> ReadAsync(PyroscopeProcess process, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/ring");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var response = await process.Http.SendAsync(request, ct);
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
        var root = json.RootElement;
        var members = new List<Member>();
        foreach (var shard in root.GetProperty("shards").EnumerateArray())
        {
            members.Add(new Member(
                shard.GetProperty("id").GetString()!,
                shard.GetProperty("state").GetString()!,
                shard.GetProperty("healthy").GetBoolean(),
                shard.GetProperty("registered_timestamp").GetDateTimeOffset().ToUnixTimeMilliseconds()));
        }
        return new RingStatus(root.GetProperty("version").GetInt64(), root.GetProperty("in_use_version").GetInt64(), members);
    }
}
