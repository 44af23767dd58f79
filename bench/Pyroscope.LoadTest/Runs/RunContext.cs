using System.Globalization;
using System.Text;
using Pyroscope.LoadTest.Cli;
using Pyroscope.LoadTest.Servers;
using Pyroscope.LoadTest.Workload;
using Pyroscope.Testing;

namespace Pyroscope.LoadTest.Runs;

/// <summary>A scenario of the compare table: a workload and how to start the server it is compared on.</summary>
public sealed record Scenario(
    string Name,
    string RatioOf,
    IWorkload Workload,
    int Connections,
    bool InMegabytes,
    double TimeScale,
    Func<CancellationToken, Task<IServerUnderTest>> StartAsync);

/// <summary>What every run shares: the fixtures, the generated eBPF profile, a data directory, progress output.</summary>
public sealed class RunContext : IAsyncDisposable
{
    private readonly Lazy<FixtureBody> _large;
    private readonly bool _keepData;
    private string _largeDescription = "";
    private int _servers;

    public RunContext(LoadTestOptions options)
    {
        _keepData = options.KeepData;
        // Fixtures first: a bad --profiles fails before anything needs cleaning up.
        Fixtures = FixtureSet.Load(RepositoryPaths.Fixtures, options.Profiles);
        DataRoot = Directory.CreateTempSubdirectory("pyroscope-loadtest-").FullName;
        Space = new SeriesSpace(options.Services, options.Pods, Fixtures.Bodies.Count);
        _large = new Lazy<FixtureBody>(() =>
        {
            var profile = EbpfProfileGenerator.Generate(new EbpfProfileGenerator.Shape(), 0);
            var body = new FixtureBody("ebpf-cpu", "process_cpu", "ebpfspy", profile);
            body.Refresh(DateTimeOffset.UtcNow);
            _largeDescription = ProfileFacts.Describe(profile, body.Gzipped.Length, body.RawSize);
            Log("large profile: " + _largeDescription);
            return body;
        });
    }

    public string DataRoot { get; }

    public FixtureSet Fixtures { get; }

    public SeriesSpace Space { get; }

    public FixtureBody LargeProfile => _large.Value;

    public void Log(string line) => Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {line}");

    public PyroscopeSettings Settings(LoadTestOptions options, bool selfProfiling = false, bool perfMap = false, string selfProfilingInterval = "15s") =>
        new(DataRoot, options.SelfProfiling || selfProfiling, options.WalFsync, options.MaxHeadBytes, perfMap, selfProfilingInterval)
        {
            ExtraEnvironment = options.ServerEnvironment,
        };

    /// <summary>A fresh data directory name for every server started, so no scenario inherits another's head.</summary>
    public string NextServerName(string kind) => $"{kind}-{Interlocked.Increment(ref _servers)}";

    public Scenario Scenario(string name, LoadTestOptions options)
    {
        var settings = Settings(options);
        var ingest = new IngestWorkload(Space, Fixtures.Bodies);
        Task<IServerUnderTest> Monolith(CancellationToken ct) => StartMonolithAsync(settings, ct);
        return name switch
        {
            ScenarioNames.IngestSmall => new(name, "profiles/s, small profiles via /ingest", ingest, options.Connections, false, 1, Monolith),
            ScenarioNames.PushSmall => new(name, "profiles/s, small profiles via Connect Push", new PushWorkload(Space, Fixtures.Bodies), options.Connections, false, 1, Monolith),
            ScenarioNames.Microservices => new(name, "profiles/s, /ingest → distributor → ingester (gRPC, RF 1)", ingest, options.Connections, false, 1,
                async ct => await MicroservicesServer.StartAsync(settings with { DataRoot = Path.Combine(DataRoot, NextServerName("microservices")) }, Fixtures.Bodies[0].Gzipped, ct)),
            // Few, long requests: twice the time per phase, so each window holds enough completions.
            ScenarioNames.IngestLarge => new(name, "MB/s, 4 MB eBPF profiles via /ingest", new IngestWorkload(Space, [LargeProfile]), options.LargeConnections, true, 2, Monolith),
            _ => throw new ArgumentException($"unknown scenario {name}"),
        };
    }

    public async Task<IServerUnderTest> StartMonolithAsync(PyroscopeSettings settings, CancellationToken cancellationToken) =>
        await MonolithServer.StartAsync(settings with { DataRoot = Path.Combine(DataRoot, NextServerName("monolith")) }, cancellationToken);

    public string Header(string command, LoadTestOptions options)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"## Pyroscope.LoadTest {command}: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, commit {GitCommit()}");
        text.AppendLine();
        var head = options.MaxHeadBytes is { } b ? $", max_head_bytes {b}" : "";
        text.Append(CultureInfo.InvariantCulture, $"{Environment.ProcessorCount} cores, load average at start {File.ReadAllText("/proc/loadavg").Split(' ')[0]}; servers built {RepositoryPaths.Configuration}; ");
        text.Append(CultureInfo.InvariantCulture, $"{options.Rounds} rounds of {options.Seconds} s per side (warm-up {options.WarmupSeconds} s, first phase of a server 3x), ");
        text.Append(CultureInfo.InvariantCulture, $"{options.Connections} connections ({options.LargeConnections} for 4 MB profiles); series space {Space.Services} services x {Space.Pods} pods x {Space.Profiles} profiles; ");
        var env = options.ServerEnvironment.Count == 0 ? "" : ", server environment " + string.Join(" ", options.ServerEnvironment.Select(p => $"`{p.Key}={p.Value}`"));
        text.AppendLine(CultureInfo.InvariantCulture, $"self-profiling {(options.SelfProfiling ? "on" : "off")}, WAL fsync {(options.WalFsync ? "on" : "off")}{head}{env}.");
        text.AppendLine();
        text.AppendLine("Small profiles: " + string.Join(", ", IngestWorkload.BodyNames(Fixtures.Bodies)) + ", timestamps refreshed every second.");
        if (options.Scenarios.Contains(ScenarioNames.IngestLarge) && command == "compare")
        {
            text.AppendLine();
            _ = LargeProfile;
            text.AppendLine("Large profile (generated, deterministic): " + _largeDescription + ".");
        }
        if (RepositoryPaths.Configuration != "Release")
        {
            text.AppendLine();
            text.AppendLine("**Warning: Debug build. Run with `dotnet run -c Release`; Debug numbers mean nothing.**");
        }
        return text.ToString();
    }

    private static string GitCommit()
    {
        try
        {
            var (code, output) = ExternalProcess.RunAsync("git", ["-C", RepositoryPaths.Root, "rev-parse", "--short", "HEAD"], TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
            return code == 0 ? output.Trim() : "?";
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
        {
            return "?";
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Fixtures.DisposeAsync();
        if (!_keepData)
        {
            try
            {
                Directory.Delete(DataRoot, recursive: true);
            }
            catch (IOException)
            {
                // A process that just exited may still hold a file; a temp directory left behind is harmless.
            }
        }
        else
        {
            Log("data kept in " + DataRoot);
        }
    }
}
