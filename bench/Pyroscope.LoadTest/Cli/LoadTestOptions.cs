using System.Globalization;

namespace Pyroscope.LoadTest.Cli;

/// <summary>What to run and how hard; every option has a default that reproduces the README's tables.</summary>
public sealed class LoadTestOptions
{
    public const string Usage = """
        Pyroscope.LoadTest: end-to-end ingest load (see bench/README.md)

          dotnet run -c Release --project bench/Pyroscope.LoadTest -- [command] [options]

        commands
          compare (default)   null server and system under test, interleaved, per scenario; prints the Markdown table
          soak                80 % of the monolith's measured maximum rate for --soak-minutes; RSS min/max/drift
          hotspots            monolith alone under load with self-profiling; CPU by stage and top frames
          large-profile       describe the generated 4 MB eBPF-style profile; --out FILE writes it (gzipped pprof)
          null-server         (internal) the null server, started by the other commands

        options
          --scenarios LIST    ingest-small,push-small,microservices,ingest-large (default: all four)
          --seconds N         measured seconds per phase (default 10)
          --warmup N          unmeasured seconds before each phase (default 3; the first phase of a server gets 3x)
          --rounds N          null/server pairs per scenario (default 3)
          --connections N     concurrent connections for small profiles (default 8)
          --large-connections N   for 4 MB profiles (default 2)
          --services N --pods N   series space: services x pods x fixtures (default 200 x 5 x 4)
          --profiles LIST     small-profile fixtures to cycle through (default go-cpu,go-heap,go-goroutine,nodejs-wall)
          --floors            compare: also run three floors of the null server, each adding pieces of the write path:
                              "null + WAL" (the body appended to the product's WAL, answered once durable),
                              "null + pprof read" (the product's gunzip and pprof reader) and both together;
                              a table of ratios against them
          --self-profiling    let the servers profile themselves (off by default in compare and soak, always on in hotspots)
          --wal-fsync BOOL    pyroscopedb.wal_fsync of the servers (default true: the product default)
          --max-head-bytes N  pyroscopedb.max_head_bytes (default: product default, 1 GiB)
          --soak-minutes N    (default 10)   --soak-rate R  profiles/s (default: 80 % of a measured maximum)
          --soak-scenario S   ingest-small or push-small (default ingest-small)
          --rss-every N       soak RSS sampling period in seconds (default 5)
          --server-env K=V    environment variable for the servers (repeatable), e.g. DOTNET_gcServer=0 to try a GC setting
          --perf              hotspots: also run `perf record` on the server (native frames: GC, zlib, kernel entry)
          --keep-data         keep the servers' data directory
        """;

    public string Command { get; private set; } = "compare";

    public IReadOnlyList<string> Scenarios { get; private set; } = ScenarioNames.All;

    public int Seconds { get; private set; } = 10;

    public int WarmupSeconds { get; private set; } = 3;

    public int Rounds { get; private set; } = 3;

    public int Connections { get; private set; } = 8;

    public int LargeConnections { get; private set; } = 2;

    public int Services { get; private set; } = 200;

    public int Pods { get; private set; } = 5;

    /// <summary>Names of the small-profile fixtures to send (null: all four).</summary>
    public IReadOnlyList<string>? Profiles { get; private set; }

    public bool SelfProfiling { get; private set; }

    public bool WalFsync { get; private set; } = true;

    public long? MaxHeadBytes { get; private set; }

    public double SoakMinutes { get; private set; } = 10;

    public double? SoakRate { get; private set; }

    public string SoakScenario { get; private set; } = ScenarioNames.IngestSmall;

    public int RssEverySeconds { get; private set; } = 5;

    public bool Perf { get; private set; }

    /// <summary>Extra environment of the servers under test (never of the null server), to try runtime settings.</summary>
    public IReadOnlyDictionary<string, string> ServerEnvironment => _serverEnvironment;

    private readonly Dictionary<string, string> _serverEnvironment = new(StringComparer.Ordinal);

    public bool KeepData { get; private set; }

    /// <summary>large-profile: where to write the generated profile.</summary>
    public string? Output { get; private set; }

    /// <summary>null-server mode: the port to listen on.</summary>
    public int Port { get; private set; }

    /// <summary>compare: also measure the null server's floors (<see cref="Servers.NullWork"/>).</summary>
    public bool Floors { get; private set; }

    /// <summary>null-server mode: what it does with each request.</summary>
    public Servers.NullWork NullWork { get; private set; } = Servers.NullWork.Gunzip;

    /// <summary>null-server mode, WAL floor: the log's directory.</summary>
    public string? WalDirectory { get; private set; }

    public static LoadTestOptions Parse(string[] args)
    {
        var options = new LoadTestOptions();
        var i = 0;
        if (args.Length > 0 && !args[0].StartsWith('-'))
        {
            options.Command = args[0] switch
            {
                "compare" or "soak" or "hotspots" or "null-server" or "large-profile" => args[0],
                _ => throw new ArgumentException($"unknown command \"{args[0]}\"\n\n{Usage}"),
            };
            i = 1;
        }
        for (; i < args.Length; i++)
        {
            var name = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value");
            switch (name)
            {
                case "--scenarios":
                    options.Scenarios = ScenarioNames.Parse(Value());
                    break;
                case "--seconds":
                    options.Seconds = PositiveInt(name, Value());
                    break;
                case "--warmup":
                    options.WarmupSeconds = int.Parse(Value(), CultureInfo.InvariantCulture);
                    break;
                case "--rounds":
                    options.Rounds = PositiveInt(name, Value());
                    break;
                case "--connections":
                    options.Connections = PositiveInt(name, Value());
                    break;
                case "--large-connections":
                    options.LargeConnections = PositiveInt(name, Value());
                    break;
                case "--services":
                    options.Services = PositiveInt(name, Value());
                    break;
                case "--pods":
                    options.Pods = PositiveInt(name, Value());
                    break;
                case "--profiles":
                    options.Profiles = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    break;
                case "--self-profiling":
                    options.SelfProfiling = true;
                    break;
                case "--wal-fsync":
                    options.WalFsync = bool.Parse(Value());
                    break;
                case "--max-head-bytes":
                    options.MaxHeadBytes = long.Parse(Value(), CultureInfo.InvariantCulture);
                    break;
                case "--soak-minutes":
                    options.SoakMinutes = double.Parse(Value(), CultureInfo.InvariantCulture);
                    break;
                case "--soak-rate":
                    options.SoakRate = double.Parse(Value(), CultureInfo.InvariantCulture);
                    break;
                case "--soak-scenario":
                    options.SoakScenario = ScenarioNames.Parse(Value()) is [var one] && one is ScenarioNames.IngestSmall or ScenarioNames.PushSmall
                        ? one
                        : throw new ArgumentException("--soak-scenario is ingest-small or push-small");
                    break;
                case "--rss-every":
                    options.RssEverySeconds = PositiveInt(name, Value());
                    break;
                case "--server-env":
                    var pair = Value();
                    var equals = pair.IndexOf('=');
                    if (equals <= 0)
                    {
                        throw new ArgumentException($"--server-env needs KEY=VALUE, got \"{pair}\"");
                    }
                    options._serverEnvironment[pair[..equals]] = pair[(equals + 1)..];
                    break;
                case "--perf":
                    options.Perf = true;
                    break;
                case "--keep-data":
                    options.KeepData = true;
                    break;
                case "--out":
                    options.Output = Value();
                    break;
                case "--port":
                    options.Port = PositiveInt(name, Value());
                    break;
                case "--floors":
                    options.Floors = true;
                    break;
                case "--null-work":
                    options.NullWork = Enum.Parse<Servers.NullWork>(Value());
                    break;
                case "--wal-dir":
                    options.WalDirectory = Value();
                    break;
                case "-h" or "--help":
                    options.Command = "help";
                    break;
                default:
                    throw new ArgumentException($"unknown option \"{name}\"\n\n{Usage}");
            }
        }
        return options;
    }

    private static int PositiveInt(string name, string text) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > 0
            ? v
            : throw new ArgumentException($"{name} needs a positive integer, got \"{text}\"");
}

/// <summary>The scenarios of the compare table, named as on the command line.</summary>
public static class ScenarioNames
{
    public const string IngestSmall = "ingest-small";
    public const string PushSmall = "push-small";
    public const string Microservices = "microservices";
    public const string IngestLarge = "ingest-large";

    public static readonly IReadOnlyList<string> All = [IngestSmall, PushSmall, Microservices, IngestLarge];

    public static IReadOnlyList<string> Parse(string list)
    {
        var result = new List<string>();
        foreach (var part in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            result.Add(All.Contains(part) ? part : throw new ArgumentException($"unknown scenario \"{part}\" (known: {string.Join(", ", All)})"));
        }
        return result.Count > 0 ? result : throw new ArgumentException("--scenarios is empty");
    }
}
