using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Pyroscope.Hosting.Configuration;

/// <summary>
/// Reads upstream-style YAML (<c>server: {http_listen_port: 4040}</c>) into flat configuration keys
/// (<c>server:http_listen_port</c>), the same keys the flags set.
/// </summary>
public static partial class YamlConfigFile
{
    public static Dictionary<string, string?> Load(string path, bool expandEnv)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException($"cannot read config file \"{path}\": {ex.Message}");
        }
        return Parse(text, path, expandEnv);
    }

    public static Dictionary<string, string?> Parse(string text, string sourceName, bool expandEnv)
    {
        if (expandEnv)
        {
            text = ExpandEnvironment(text);
        }
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException ex)
        {
            throw new ConfigurationException($"config file \"{sourceName}\" is not valid YAML at line {ex.Start.Line}, column {ex.Start.Column}: {ex.InnerException?.Message ?? ex.Message}");
        }
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
        {
            return values;
        }
        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new ConfigurationException($"config file \"{sourceName}\" must be a YAML mapping at the top level");
        }
        foreach (var (keyNode, valueNode) in root.Children)
        {
            var key = ((YamlScalarNode)keyNode).Value ?? string.Empty;
            if (!FlagTable.KnownYamlSections.Contains(key))
            {
                throw new ConfigurationException($"config file \"{sourceName}\" line {keyNode.Start.Line}: field \"{key}\" not found in the configuration");
            }
            Flatten(key, valueNode, values);
        }
        return values;
    }

    private static void Flatten(string prefix, YamlNode node, Dictionary<string, string?> values)
    {
        switch (node)
        {
            case YamlScalarNode scalar:
                values[prefix] = scalar.Value;
                break;
            case YamlMappingNode mapping:
                foreach (var (k, v) in mapping.Children)
                {
                    Flatten(prefix + ":" + ((YamlScalarNode)k).Value, v, values);
                }
                break;
            case YamlSequenceNode sequence:
                var scalars = new List<string>();
                for (var i = 0; i < sequence.Children.Count; i++)
                {
                    Flatten(prefix + ":" + i, sequence.Children[i], values);
                    if (sequence.Children[i] is YamlScalarNode s && s.Value is not null)
                    {
                        scalars.Add(s.Value);
                    }
                }
                // A list of scalars (e.g. target: [distributor, querier]) also reads as a comma list.
                if (scalars.Count == sequence.Children.Count)
                {
                    values[prefix] = string.Join(',', scalars);
                }
                break;
        }
    }

    /// <summary>Replaces <c>${VAR}</c>, <c>${VAR:default}</c> and <c>${VAR:-default}</c> with the environment's values.</summary>
    public static string ExpandEnvironment(string text) =>
        EnvReference().Replace(text, match =>
        {
            var name = match.Groups["name"].Value;
            var value = Environment.GetEnvironmentVariable(name);
            if (!string.IsNullOrEmpty(value))
            {
                return value;
            }
            return match.Groups["default"].Success ? match.Groups["default"].Value : string.Empty;
        });

    [GeneratedRegex(@"\$\{(?<name>[A-Za-z_][A-Za-z0-9_]*)(?::-?(?<default>[^}]*))?\}")]
    private static partial Regex EnvReference();
}
