using System.Globalization;
using Pyroscope.Model;

namespace Pyroscope.Hosting.Configuration;

/// <summary>Bad command line or configuration: printed as one line, exit code 1, never a stack trace.</summary>
public sealed class ConfigurationException(string message) : Exception(message);

/// <summary>The parsed command line, in Go's flag style: <c>-name=value</c>, <c>-name value</c>, <c>--name</c>, bare bools.</summary>
public sealed class CommandLine
{
    public Dictionary<string, string> ConfigValues { get; } = new(StringComparer.OrdinalIgnoreCase);

    public string? ConfigFile { get; private set; }

    public bool ExpandEnv { get; private set; }

    public bool ShowModules { get; private set; }

    public bool ShowVersion { get; private set; }

    public bool ShowHelp { get; private set; }

    public static CommandLine Parse(IReadOnlyList<string> args)
    {
        var result = new CommandLine();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith('-') || arg == "-" || arg == "--")
            {
                throw new ConfigurationException($"unexpected argument \"{arg}\": flags look like -name=value");
            }
            var body = arg.StartsWith("--", StringComparison.Ordinal) ? arg[2..] : arg[1..];
            string name;
            string? value = null;
            var eq = body.IndexOf('=');
            if (eq >= 0)
            {
                name = body[..eq];
                value = body[(eq + 1)..];
            }
            else
            {
                name = body;
            }
            if (name is "h")
            {
                name = FlagTable.Help;
            }
            var flag = FlagTable.Find(name) ?? throw new ConfigurationException($"flag provided but not defined: -{name}");
            if (value is null)
            {
                if (flag.Kind == FlagKind.Bool)
                {
                    value = "true";
                }
                else if (i + 1 < args.Count)
                {
                    value = args[++i];
                }
                else
                {
                    throw new ConfigurationException($"flag needs an argument: -{name}");
                }
            }
            result.Apply(flag, value);
        }
        return result;
    }

    private void Apply(FlagDefinition flag, string value)
    {
        var normalized = Validate(flag, value);
        switch (flag.Name)
        {
            case FlagTable.ConfigFile:
                ConfigFile = normalized;
                return;
            case FlagTable.ConfigExpandEnv:
                ExpandEnv = normalized == "true";
                return;
            case FlagTable.Modules:
                ShowModules = normalized == "true";
                return;
            case FlagTable.Version:
                ShowVersion = normalized == "true";
                return;
            case FlagTable.Help:
                ShowHelp = normalized == "true";
                return;
            default:
                ConfigValues[flag.ConfigKey] = normalized;
                return;
        }
    }

    /// <summary>Checks a flag's value against its kind and returns it in canonical form.</summary>
    public static string Validate(FlagDefinition flag, string value) => flag.Kind switch
    {
        FlagKind.Bool => value.ToLowerInvariant() switch
        {
            "true" or "1" or "t" => "true",
            "false" or "0" or "f" => "false",
            _ => throw new ConfigurationException($"invalid boolean value \"{value}\" for flag -{flag.Name}"),
        },
        FlagKind.Int => int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _)
            ? value
            : throw new ConfigurationException($"invalid value \"{value}\" for flag -{flag.Name}: not an integer"),
        FlagKind.Duration => DurationText.TryParse(value, out _)
            ? value
            : throw new ConfigurationException($"invalid value \"{value}\" for flag -{flag.Name}: not a duration such as 30s, 5m, 1h, 7d"),
        _ => value,
    };
}
