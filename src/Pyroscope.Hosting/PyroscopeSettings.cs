using System.Globalization;
using Microsoft.Extensions.Configuration;
using Pyroscope.Hosting.Configuration;
using Pyroscope.Model;

namespace Pyroscope.Hosting;

/// <summary>
/// The merged settings of a process, lowest precedence first: flag defaults, the YAML file, environment
/// variables (how Aspire hands over ports and connection strings: <c>server__http_listen_port</c>), flags.
/// </summary>
public sealed class PyroscopeSettings
{
    private PyroscopeSettings(IConfiguration configuration, IReadOnlyList<string> targets)
    {
        Configuration = configuration;
        Targets = targets;
    }

    public IConfiguration Configuration { get; }

    public IReadOnlyList<string> Targets { get; }

    public static PyroscopeSettings Load(CommandLine commandLine, string defaultTarget)
    {
        var builder = new ConfigurationBuilder();
        builder.AddInMemoryCollection(Defaults());
        if (commandLine.ConfigFile is not null)
        {
            builder.AddInMemoryCollection(YamlConfigFile.Load(commandLine.ConfigFile, commandLine.ExpandEnv));
        }
        builder.AddEnvironmentVariables();
        builder.AddInMemoryCollection(commandLine.ConfigValues!);
        var configuration = builder.Build();

        ValidateKnownKeys(configuration);
        var targetText = configuration["target"];
        var targets = ParseTargets(string.IsNullOrWhiteSpace(targetText) ? defaultTarget : targetText);
        return new PyroscopeSettings(configuration, targets);
    }

    public int HttpPort => GetInt("server:http_listen_port");

    public int GrpcPort => GetInt("server:grpc_listen_port");

    public string HttpAddress => Configuration["server:http_listen_address"] ?? string.Empty;

    public string GrpcAddress => Configuration["server:grpc_listen_address"] ?? string.Empty;

    public TimeSpan GracefulShutdownTimeout => DurationText.Parse(Configuration["server:graceful_shutdown_timeout"]!, "server.graceful_shutdown_timeout");

    public string LogLevel => Configuration["server:log_level"]!;

    private int GetInt(string key)
    {
        var text = Configuration[key];
        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value is >= 0 and <= 65535
            ? value
            : throw new ConfigurationException($"invalid value \"{text}\" for {key}: not a port number");
    }

    private static IReadOnlyList<string> ParseTargets(string text)
    {
        var targets = new List<string>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            targets.Add(part);
        }
        return targets;
    }

    private static Dictionary<string, string?> Defaults()
    {
        var defaults = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var flag in FlagTable.All)
        {
            if (flag.ConfigKey.Length > 0 && flag.Default is not null)
            {
                defaults[flag.ConfigKey] = flag.Default;
            }
        }
        return defaults;
    }

    /// <summary>Values that a flag also sets must have the flag's type, wherever they came from.</summary>
    private static void ValidateKnownKeys(IConfiguration configuration)
    {
        foreach (var flag in FlagTable.All)
        {
            if (flag.ConfigKey.Length == 0)
            {
                continue;
            }
            var value = configuration[flag.ConfigKey];
            if (value is not null && flag.Kind != FlagKind.List && flag.Kind != FlagKind.String)
            {
                CommandLine.Validate(flag, value);
            }
        }
    }
}
