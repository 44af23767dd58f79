using System.IO.Compression;
using Pyroscope.Contracts.Google.V1;

namespace Pyroscope.Testing;

/// <summary>
/// An independent decode of an input profile into "root;...;leaf" → value, to compare with what the server
/// returns. Shares no code with the server's normaliser.
/// </summary>
public static class ExpectedStacks
{
    public static byte[] Ungzip(byte[] data)
    {
        if (data.Length < 2 || data[0] != 0x1f || data[1] != 0x8b)
        {
            return data;
        }
        using var input = new GZipStream(new MemoryStream(data), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }

    public static Profile ParsePprof(byte[] data) => Profile.Parser.ParseFrom(Ungzip(data));

    /// <summary>The index of the sample type named <paramref name="type"/> (e.g. "cpu"), -1 when there is none.</summary>
    public static int SampleTypeIndex(Profile profile, string type)
    {
        for (var i = 0; i < profile.SampleType.Count; i++)
        {
            if (profile.StringTable[(int)profile.SampleType[i].Type] == type)
            {
                return i;
            }
        }
        return -1;
    }

    public static string SampleType(Profile profile, int index) =>
        profile.StringTable[(int)profile.SampleType[index].Type] + ":" + profile.StringTable[(int)profile.SampleType[index].Unit];

    public static Dictionary<string, long> FromPprof(Profile profile, int valueIndex)
    {
        var functions = profile.Function.ToDictionary(f => f.Id, f => profile.StringTable[(int)f.Name]);
        var locations = profile.Location.ToDictionary(l => l.Id);
        var stacks = new Dictionary<string, long>();
        foreach (var sample in profile.Sample)
        {
            var value = sample.Value[valueIndex];
            if (value == 0)
            {
                continue;
            }
            var frames = new List<string>();
            // location_id[0] is the leaf; within a location, line[0] is the innermost inlined function.
            for (var i = sample.LocationId.Count - 1; i >= 0; i--)
            {
                var location = locations[sample.LocationId[i]];
                for (var j = location.Line.Count - 1; j >= 0; j--)
                {
                    frames.Add(functions[location.Line[j].FunctionId]);
                }
            }
            var key = string.Join(';', frames);
            stacks[key] = stacks.GetValueOrDefault(key) + value;
        }
        return stacks;
    }

    public static Dictionary<string, long> FromFolded(string text) => FoldedText.Parse(text);

    /// <summary>
    /// Decodes flame graph levels (flamebearer or querier.v1 FlameGraph): 4 ints a node, [x delta, total, self,
    /// name]; a node's parent is the node one level up whose span contains it. Returns self values per path.
    /// </summary>
    public static Dictionary<string, long> FromFlameGraph(IReadOnlyList<string> names, IReadOnlyList<IReadOnlyList<long>> levels)
    {
        var stacks = new Dictionary<string, long>();
        var previous = new List<(long X, long Total, string Path)>();
        for (var depth = 0; depth < levels.Count; depth++)
        {
            var row = levels[depth];
            var current = new List<(long X, long Total, string Path)>();
            long x = 0;
            for (var i = 0; i + 3 < row.Count; i += 4)
            {
                x += row[i];
                var total = row[i + 1];
                var self = row[i + 2];
                var name = names[(int)row[i + 3]];
                string path;
                if (depth == 0)
                {
                    path = string.Empty; // the synthetic root ("total")
                }
                else
                {
                    var parent = previous.First(p => x >= p.X && x + total <= p.X + p.Total);
                    path = parent.Path.Length == 0 ? name : parent.Path + ";" + name;
                }
                if (self > 0 && depth > 0)
                {
                    stacks[path] = stacks.GetValueOrDefault(path) + self;
                }
                current.Add((x, total, path));
                x += total;
            }
            previous = current;
        }
        return stacks;
    }
}
