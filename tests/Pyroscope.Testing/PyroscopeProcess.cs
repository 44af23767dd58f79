using System.Net.Http;

namespace Pyroscope.Testing;

/// <summary>
/// A real Pyroscope.NET process (Pyroscope.All or a component executable) on free loopback ports with its
/// own data directories, started for one test and killed after it.
/// </summary>
public sealed class PyroscopeProcess : IAsyncDisposable
{
    private readonly ExternalProcess _process;
    private readonly bool _ownsDataDirectory;

    private PyroscopeProcess(ExternalProcess process, int httpPort, int grpcPort, string dataDirectory, bool ownsDataDirectory)
    {
        _process = process;
        HttpPort = httpPort;
        GrpcPort = grpcPort;
        DataDirectory = dataDirectory;
        _ownsDataDirectory = ownsDataDirectory;
        Http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    public int HttpPort { get; }

    public int GrpcPort { get; }

    public string DataDirectory { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{HttpPort}");

    public HttpClient Http { get; }

    public string Output => _process.Output;

    public ExternalProcess Process => _process;

    /// <summary>
    /// Starts <paramref name="project"/> with <paramref name="arguments"/> plus ports and data paths (unless the
    /// arguments set them). Pass a <paramref name="dataDirectory"/> to restart on the same data.
    /// Every process gets <see cref="AcceptOldProfiles"/> under <paramref name="environment"/> (which may set those keys
    /// back): fixtures keep the timestamps they were recorded with and grow older every day, and one process of a
    /// cluster started without it (a querier's 7-day lookback) once failed CI on a calendar date, not on a change.
    /// </summary>
    public static PyroscopeProcess Start(string project = "Pyroscope.All", IEnumerable<string>? arguments = null, string? dataDirectory = null, IReadOnlyDictionary<string, string?>? environment = null, int? httpPort = null, int? grpcPort = null)
    {
        var owns = dataDirectory is null;
        dataDirectory ??= Directory.CreateTempSubdirectory("pyroscope-test-").FullName;
        var http = httpPort ?? FreePort.Next();
        var grpc = grpcPort ?? FreePort.Next();
        var args = new List<string>
        {
            RepositoryPaths.ProjectDll(project),
            $"-server.http-listen-address=127.0.0.1",
            $"-server.http-listen-port={http}",
            $"-server.grpc-listen-address=127.0.0.1",
            $"-server.grpc-listen-port={grpc}",
            $"-pyroscopedb.data-path={Path.Combine(dataDirectory, "data")}",
            $"-storage.filesystem.dir={Path.Combine(dataDirectory, "data-shared")}",
        };
        if (arguments is not null)
        {
            args.AddRange(arguments);
        }
        var env = new Dictionary<string, string?>(AcceptOldProfiles);
        if (environment is not null)
        {
            foreach (var (k, v) in environment)
            {
                env[k] = v;
            }
        }
        var process = ExternalProcess.Start("dotnet", args, dataDirectory, env);
        return new PyroscopeProcess(process, http, grpc, dataDirectory, owns);
    }

    /// <summary>Polls /ready until it answers 200; fails with the process output if it exits or times out.</summary>
    public async Task WaitUntilReadyAsync(TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        using var probe = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"process exited with code {_process.ExitCode} before it was ready; output:\n{Output}");
            }
            try
            {
                using var response = await probe.GetAsync("/ready");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"not ready within the timeout; output:\n{Output}");
    }

    /// <summary>
    /// Starts the process and waits until it is ready. A free port can be taken by another test between being
    /// picked and being bound; then the start is retried on new ports, so parallel tests never collide.
    /// </summary>
    public static async Task<PyroscopeProcess> StartReadyAsync(string project = "Pyroscope.All", IEnumerable<string>? arguments = null, string? dataDirectory = null, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var args = arguments?.ToList();
        for (var attempt = 1; ; attempt++)
        {
            var process = Start(project, args, dataDirectory, environment);
            try
            {
                await process.WaitUntilReadyAsync();
                return process;
            }
            catch (InvalidOperationException) when (attempt < 5 && process.Output.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
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

    /// <summary>
    /// Limits that let the fixtures in: they were recorded days ago, so the ingestion window and the query look-back
    /// are switched off (both are per-tenant limits whose enforcement is tested on their own).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string?> AcceptOldProfiles = new Dictionary<string, string?>
    {
        ["limits__reject_older_than"] = "0",
        ["limits__max_query_lookback"] = "0",
    };

    /// <summary>
    /// The monolith most tests query: ready, accepting the fixtures' old timestamps, without self-profiling (whose
    /// profiles would join every answer). <paramref name="arguments"/> and <paramref name="environment"/> add to that.
    /// </summary>
    public static Task<PyroscopeProcess> StartMonolithAsync(IEnumerable<string>? arguments = null, string? dataDirectory = null, IReadOnlyDictionary<string, string?>? environment = null) =>
        StartReadyAsync("Pyroscope.All", ["-self-profiling.disable-push=true", .. arguments ?? []], dataDirectory, environment);

    public void Kill() => _process.Kill();

    public void Terminate() => _process.Terminate();

    /// <summary>SIGSTOP (see <see cref="ExternalProcess.Freeze"/>).</summary>
    public void Freeze() => _process.Freeze();

    /// <summary>SIGCONT.</summary>
    public void Thaw() => _process.Thaw();

    public Task<int> WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync(timeout);

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _process.DisposeAsync();
        if (_ownsDataDirectory)
        {
            try
            {
                Directory.Delete(DataDirectory, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: a temp directory left behind is harmless.
            }
        }
    }
}
