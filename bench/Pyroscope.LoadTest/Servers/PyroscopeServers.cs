using System.Globalization;
using System.Net.Http.Headers;
using Pyroscope.Testing;

namespace Pyroscope.LoadTest.Servers;

/// <summary>How the Pyroscope processes are configured: limits raised so the limiter is not what is measured.</summary>
public sealed record PyroscopeSettings(string DataRoot, bool SelfProfiling, bool WalFsync, long? MaxHeadBytes, bool PerfMap = false, string SelfProfilingInterval = "15s")
{
    /// <summary>Runtime settings to try (<c>--server-env</c>), e.g. <c>DOTNET_gcServer=0</c>.</summary>
    public IReadOnlyDictionary<string, string> ExtraEnvironment { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// Flags every process gets. Rate limit and burst 100 000 MB (the limiter still runs), no series limit,
    /// profiles up to 256 MB decompressed (the 4 MB-gzipped eBPF profile is ≈ 20 MB raw; upstream's default is 4 MB).
    /// </summary>
    public List<string> Arguments(string name, int httpPort, int grpcPort)
    {
        var dir = Path.Combine(DataRoot, name);
        Directory.CreateDirectory(dir);
        var yaml = Path.Combine(dir, "loadtest.yaml");
        var lines = new List<string> { "pyroscopedb:", $"  wal_fsync: {(WalFsync ? "true" : "false")}" };
        if (MaxHeadBytes is { } bytes)
        {
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"  max_head_bytes: {bytes}"));
        }
        File.WriteAllLines(yaml, lines);
        return
        [
            RepositoryPaths.ProjectDll("Pyroscope.All"),
            $"-config.file={yaml}",
            "-server.http-listen-address=127.0.0.1",
            $"-server.http-listen-port={httpPort}",
            "-server.grpc-listen-address=127.0.0.1",
            $"-server.grpc-listen-port={grpcPort}",
            $"-pyroscopedb.data-path={Path.Combine(dir, "data")}",
            $"-storage.filesystem.dir={Path.Combine(DataRoot, "shared")}",
            "-distributor.ingestion-rate-limit-mb=100000",
            "-distributor.ingestion-burst-size-mb=100000",
            "-validation.max-profile-size-bytes=268435456",
            "-ingester.max-global-series-per-tenant=0",
            $"-self-profiling.disable-push={(SelfProfiling ? "false" : "true")}",
            $"-self-profiling.upload-interval={SelfProfilingInterval}",
        ];
    }

    public Dictionary<string, string?> Environment(string? selfProfilingTarget = null)
    {
        var env = new Dictionary<string, string?>();
        foreach (var (key, value) in ExtraEnvironment)
        {
            env[key] = value;
        }
        if (PerfMap)
        {
            // perf resolves JIT-compiled frames from /tmp/perf-PID.map, but only in plain anonymous memory: W^X
            // double-maps the code from a memfd perf cannot match with the map.
            env["DOTNET_PerfMapEnabled"] = "1";
            env["DOTNET_EnableWriteXorExecute"] = "0";
        }
        if (selfProfilingTarget is not null)
        {
            env["self_profiling__server_address"] = selfProfilingTarget;
        }
        return env;
    }
}

/// <summary>The release monolith, <c>Pyroscope.All -target=all</c>.</summary>
public sealed class MonolithServer : IServerUnderTest
{
    private readonly ExternalProcess _process;
    private readonly HttpClient _http;

    private MonolithServer(ExternalProcess process, int port)
    {
        _process = process;
        Address = new Uri($"http://127.0.0.1:{port}");
        _http = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(60) };
    }

    public string Name => "monolith";

    public Uri Address { get; }

    public HttpClient Http => _http;

    public IReadOnlyList<int> ProcessIds => [_process.Id];

    public string Output => _process.Output;

    public static async Task<MonolithServer> StartAsync(PyroscopeSettings settings, CancellationToken cancellationToken)
    {
        var http = FreePort.Next();
        var args = settings.Arguments("monolith", http, FreePort.Next());
        args.Add("-target=all");
        var process = ExternalProcess.Start("dotnet", args, settings.DataRoot, settings.Environment());
        var server = new MonolithServer(process, http);
        try
        {
            await Readiness.WaitForGetAsync(server._http, "/ready", process, TimeSpan.FromSeconds(120), cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    public Task<RuntimeCounters> ReadCountersAsync(CancellationToken cancellationToken) => RuntimeCounters.ScrapeAsync(_http, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _process.DisposeAsync();
    }
}

/// <summary>
/// Microservices mode: <c>-target=distributor</c> → <c>-target=ingester</c> over gRPC, replication factor 1, the ring
/// in a redis-server of our own on a free port.
/// </summary>
public sealed class MicroservicesServer : IServerUnderTest
{
    private readonly RedisServer _redis;
    private readonly ExternalProcess _ingester;
    private readonly ExternalProcess _distributor;
    private readonly HttpClient _ingesterHttp;
    private readonly HttpClient _distributorHttp;

    private MicroservicesServer(RedisServer redis, ExternalProcess ingester, int ingesterPort, ExternalProcess distributor, int distributorPort)
    {
        _redis = redis;
        _ingester = ingester;
        _distributor = distributor;
        _ingesterHttp = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ingesterPort}"), Timeout = TimeSpan.FromSeconds(60) };
        Address = new Uri($"http://127.0.0.1:{distributorPort}");
        _distributorHttp = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(60) };
    }

    public string Name => "distributor + ingester";

    public Uri Address { get; }

    public IReadOnlyList<int> ProcessIds => [_distributor.Id, _ingester.Id];

    public string Output => "--- ingester\n" + _ingester.Output + "\n--- distributor\n" + _distributor.Output;

    public static async Task<MicroservicesServer> StartAsync(PyroscopeSettings settings, byte[] probeProfile, CancellationToken cancellationToken)
    {
        var redis = await RedisServer.StartAsync();
        string[] ring = ["-ring.store=redis", $"-ring.redis.address={redis.Address}", "-distributor.replication-factor=1", "-ring.heartbeat-period=1s"];
        var ingesterHttp = FreePort.Next();
        var distributorHttp = FreePort.Next();
        var ingesterArgs = settings.Arguments("ingester", ingesterHttp, FreePort.Next());
        ingesterArgs.AddRange(ring);
        ingesterArgs.Add("-target=ingester");
        var distributorArgs = settings.Arguments("distributor", distributorHttp, FreePort.Next());
        distributorArgs.AddRange(ring);
        distributorArgs.Add("-target=distributor");
        var ingester = ExternalProcess.Start("dotnet", ingesterArgs, settings.DataRoot, settings.Environment($"http://127.0.0.1:{distributorHttp}"));
        var distributor = ExternalProcess.Start("dotnet", distributorArgs, settings.DataRoot, settings.Environment());
        var server = new MicroservicesServer(redis, ingester, ingesterHttp, distributor, distributorHttp);
        try
        {
            await Readiness.WaitForGetAsync(server._ingesterHttp, "/ready", ingester, TimeSpan.FromSeconds(120), cancellationToken);
            await Readiness.WaitForGetAsync(server._distributorHttp, "/ready", distributor, TimeSpan.FromSeconds(120), cancellationToken);
            // Ready once a push goes through: the distributor has seen the ingester ACTIVE in the ring.
            await Readiness.WaitAsync(async () =>
            {
                using var content = new ByteArrayContent(probeProfile);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                using var response = await server._distributorHttp.PostAsync("/ingest?name=loadtest-probe&format=pprof", content, cancellationToken);
                return response.IsSuccessStatusCode;
            }, [ingester, distributor], "a push through the distributor", TimeSpan.FromSeconds(120), cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    public async Task<RuntimeCounters> ReadCountersAsync(CancellationToken cancellationToken) =>
        await RuntimeCounters.ScrapeAsync(_distributorHttp, cancellationToken) + await RuntimeCounters.ScrapeAsync(_ingesterHttp, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        _distributorHttp.Dispose();
        _ingesterHttp.Dispose();
        await _distributor.DisposeAsync();
        await _ingester.DisposeAsync();
        await _redis.DisposeAsync();
    }
}
