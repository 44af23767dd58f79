using System.Reflection;
using System.Text.RegularExpressions;
using Google.Protobuf.Reflection;
using Pyroscope.Testing;

namespace Pyroscope.Model.Tests;

/// <summary>
/// Binary clients (Grafana, profilecli) break on a wrong field number, so the project's public protos are compared
/// with the facts table of ../shared/PROTOCOL.md ("Newer upstream API surface", upstream's numbers): every message,
/// enum and service the table lists and the project declares must match it field by field (name, number, label,
/// type), and every one the project does not declare must be on the short list of known gaps.
/// </summary>
public sealed class UpstreamFieldNumberTests
{
    /// <summary>Upstream surface this project does not declare (yet): ad-hoc profiles; recording rules and settings Delete belong to another change.</summary>
    private static readonly string[] KnownGaps =
    [
        "adhocprofiles.v1.",
        "settings.v1.RecordingRule", "settings.v1.GetRecordingRule", "settings.v1.ListRecordingRules", "settings.v1.UpsertRecordingRule",
        "settings.v1.DeleteRecordingRule", "settings.v1.StacktraceFilter", "settings.v1.MetricType",
        "settings.v1.DeleteSettings", "settings.v1.SettingsService/Delete",
    ];

    [Fact]
    public void TheFactsTableIsFoundAndCoversTheNewSurface()
    {
        var facts = ProtocolFacts.Load();
        // A parser that silently read nothing would make the comparison below vacuous.
        Assert.Contains(facts.Messages, m => m.Key == "types.v1.Exemplar");
        Assert.Contains(facts.Messages, m => m.Key == "querier.v1.SelectHeatmapRequest");
        Assert.Contains(facts.Enums, e => e.Key == "querier.v1.ProfileFormat");
        Assert.Contains(facts.Services, s => s.Key == "capabilities.v1.FeatureFlagsService");
        Assert.True(facts.Messages.Count > 40, $"only {facts.Messages.Count} messages parsed");
    }

    [Fact]
    public void EveryDeclaredMessageMatchesUpstreamFieldByField()
    {
        var declared = DeclaredDescriptors.Messages;
        var problems = new List<string>();
        foreach (var (name, fields) in ProtocolFacts.Load().Messages)
        {
            if (!declared.TryGetValue(name, out var message))
            {
                NoteMissing(name, problems);
                continue;
            }
            var actual = message.Fields.InDeclarationOrder().Select(Describe).ToList();
            if (!actual.SequenceEqual(fields))
            {
                problems.Add($"{name}: upstream [{string.Join(", ", fields)}], declared [{string.Join(", ", actual)}]");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void EveryDeclaredEnumMatchesUpstreamValueByValue()
    {
        var declared = DeclaredDescriptors.Enums;
        var problems = new List<string>();
        foreach (var (name, values) in ProtocolFacts.Load().Enums)
        {
            if (!declared.TryGetValue(name, out var e))
            {
                NoteMissing(name, problems);
                continue;
            }
            var actual = e.Values.Select(v => $"{v.Name}={v.Number}").ToList();
            if (!actual.SequenceEqual(values))
            {
                problems.Add($"{name}: upstream [{string.Join(", ", values)}], declared [{string.Join(", ", actual)}]");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void EveryDeclaredServiceHasUpstreamsMethodsWithUpstreamsTypes()
    {
        var declared = DeclaredDescriptors.Services;
        var problems = new List<string>();
        foreach (var (name, methods) in ProtocolFacts.Load().Services)
        {
            if (!declared.TryGetValue(name, out var service))
            {
                NoteMissing(name, problems);
                continue;
            }
            foreach (var method in methods)
            {
                var methodName = method[..method.IndexOf('(')];
                var actual = service.FindMethodByName(methodName);
                if (actual is null)
                {
                    NoteMissing(name + "/" + methodName, problems);
                }
                else if ($"{actual.Name}({actual.InputType.FullName}) -> {actual.OutputType.FullName}" != method)
                {
                    problems.Add($"{name}: upstream {method}, declared {actual.Name}({actual.InputType.FullName}) -> {actual.OutputType.FullName}");
                }
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    private static void NoteMissing(string name, List<string> problems)
    {
        if (!KnownGaps.Any(gap => name.StartsWith(gap, StringComparison.Ordinal)))
        {
            problems.Add($"{name} is upstream's but not declared");
        }
    }

    /// <summary>A field as the facts table writes it: <c>name=number [repeated|optional ]type</c>.</summary>
    private static string Describe(FieldDescriptor f)
    {
        var label = f.IsRepeated ? "repeated " : f.ContainingOneof is { IsSynthetic: true } ? "optional " : "";
        var type = f.FieldType switch
        {
            FieldType.Message or FieldType.Group => f.MessageType.FullName,
            FieldType.Enum => f.EnumType.FullName,
            _ => f.FieldType.ToString().ToLowerInvariant(),
        };
        return $"{f.Name}={f.FieldNumber} {label}{type}";
    }

    /// <summary>The facts table, parsed: entries keyed by full name.</summary>
    private sealed record ProtocolFacts(
        Dictionary<string, List<string>> Messages, Dictionary<string, List<string>> Enums, Dictionary<string, List<string>> Services)
    {
        private static readonly Regex Package = new(@"^## .*\(package ([\w.]+)\)$");

        public static ProtocolFacts Load()
        {
            var path = Path.GetFullPath(Path.Combine(RepositoryPaths.Root, "..", "shared", "PROTOCOL.md"));
            var text = File.ReadAllText(path);
            var start = text.IndexOf("## Newer upstream API surface", StringComparison.Ordinal);
            Assert.True(start >= 0, $"{path} has no section \"Newer upstream API surface\"");
            var block = text[(text.IndexOf("```", start, StringComparison.Ordinal) + 3)..];
            block = block[..block.IndexOf("```", StringComparison.Ordinal)];
            var facts = new ProtocolFacts([], [], []);
            var package = "";
            foreach (var raw in block.Split('\n'))
            {
                var line = raw.Trim();
                if (Package.Match(line) is { Success: true } m)
                {
                    package = m.Groups[1].Value;
                    continue;
                }
                var colon = line.IndexOf(':');
                if (colon < 0)
                {
                    continue;
                }
                var head = line[..colon].Split(' ', 2);
                var items = line[(colon + 1)..].Split(head[0] == "service" ? ';' : ',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList();
                var target = head[0] switch
                {
                    "message" => facts.Messages,
                    "enum" => facts.Enums,
                    "service" => facts.Services,
                    _ => null,
                };
                target?.Add(package + "." + head[1], items);
            }
            return facts;
        }
    }

    /// <summary>Every message, enum and service declared by the project's generated contracts, nested ones included.</summary>
    private static class DeclaredDescriptors
    {
        private static readonly Lazy<IReadOnlyList<FileDescriptor>> Files = new(() =>
            typeof(Contracts.Types.V1.Point).Assembly.GetTypes()
                .Where(t => t.Name.EndsWith("Reflection", StringComparison.Ordinal))
                .Select(t => t.GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static)?.GetValue(null))
                .OfType<FileDescriptor>()
                .ToList());

        public static Dictionary<string, MessageDescriptor> Messages
        {
            get
            {
                var result = new Dictionary<string, MessageDescriptor>();
                foreach (var file in Files.Value)
                {
                    foreach (var message in file.MessageTypes)
                    {
                        AddWithNested(message, result);
                    }
                }
                return result;
            }
        }

        public static Dictionary<string, EnumDescriptor> Enums
        {
            get
            {
                var result = new Dictionary<string, EnumDescriptor>();
                foreach (var file in Files.Value)
                {
                    foreach (var e in file.EnumTypes)
                    {
                        result[e.FullName] = e;
                    }
                }
                foreach (var message in Messages.Values)
                {
                    foreach (var e in message.EnumTypes)
                    {
                        result[e.FullName] = e;
                    }
                }
                return result;
            }
        }

        public static Dictionary<string, ServiceDescriptor> Services =>
            Files.Value.SelectMany(f => f.Services).ToDictionary(s => s.FullName);

        private static void AddWithNested(MessageDescriptor message, Dictionary<string, MessageDescriptor> into)
        {
            into[message.FullName] = message;
            foreach (var nested in message.NestedTypes)
            {
                AddWithNested(nested, into);
            }
        }
    }
}
