using System.Text;
using System.Text.Json.Nodes;

namespace Pyroscope.Testing.Fuzzing;

/// <summary>
/// Structure-aware JSON mutations (speedscope, sample_type_config, Connect JSON): any value may become a
/// value of another type, a huge or negative number, or disappear; arrays grow, shrink and nest.
/// </summary>
public static class JsonMutator
{
    public static byte[] Mutate(string json, Random random)
    {
        var root = JsonNode.Parse(json);
        var rounds = 1 + random.Next(4);
        for (var r = 0; r < rounds; r++)
        {
            var nodes = new List<JsonNode>();
            Collect(root, nodes);
            if (nodes.Count == 0)
            {
                break;
            }
            var target = nodes[random.Next(nodes.Count)];
            if (target == root)
            {
                root = RandomValue(random);
                continue;
            }
            Replace(target, random);
        }
        var text = root?.ToJsonString() ?? "null";
        return random.Next(5) == 0 ? ByteMutator.Mutate(Encoding.UTF8.GetBytes(text), random) : Encoding.UTF8.GetBytes(text);
    }

    private static void Collect(JsonNode? node, List<JsonNode> into)
    {
        if (node is null)
        {
            return;
        }
        into.Add(node);
        switch (node)
        {
            case JsonObject o:
                foreach (var (_, child) in o)
                {
                    Collect(child, into);
                }
                break;
            case JsonArray a:
                foreach (var child in a)
                {
                    Collect(child, into);
                }
                break;
        }
    }

    private static void Replace(JsonNode target, Random random)
    {
        var parent = target.Parent;
        switch (parent)
        {
            case JsonObject o:
                {
                    var name = target.GetPropertyName();
                    if (random.Next(6) == 0)
                    {
                        o.Remove(name);
                    }
                    else
                    {
                        o[name] = RandomValue(random);
                    }
                    break;
                }
            case JsonArray a:
                {
                    var index = target.GetElementIndex();
                    switch (random.Next(4))
                    {
                        case 0:
                            a.RemoveAt(index);
                            break;
                        case 1:
                            a.Insert(index, target.DeepClone());
                            break;
                        default:
                            a[index] = RandomValue(random);
                            break;
                    }
                    break;
                }
        }
    }

    private static JsonNode? RandomValue(Random random) => random.Next(12) switch
    {
        0 => null,
        1 => JsonValue.Create(true),
        2 => JsonValue.Create("x"),
        3 => JsonValue.Create(-1),
        4 => JsonValue.Create(long.MaxValue),
        5 => JsonValue.Create(1e308),
        6 => JsonValue.Create(-1e308),
        7 => new JsonArray(),
        8 => new JsonObject(),
        9 => new JsonArray(JsonValue.Create(int.MaxValue), JsonValue.Create("y"), null),
        10 => JsonValue.Create(0.5),
        _ => JsonValue.Create(random.Next(-3, 1000)),
    };
}
