using System.IO.Compression;
using Pyroscope.Contracts.Google.V1;
using Pyroscope.Testing;

namespace Pyroscope.WebUI.Tests;

/// <summary>One decoded sample: root-first frame names, its values per sample type, and its pprof labels.</summary>
public sealed record StackSample(string[] Frames, long[] Values, IReadOnlyDictionary<string, string> Labels);

/// <summary>Reads the shared real-profiler fixtures into plain stacks (independently of the server code).</summary>
public static class FixtureProfiles
{
    public static string FixturesDir => RepositoryPaths.Fixtures;

    public static byte[] ReadRaw(string relative)
    {
        using var file = File.OpenRead(Path.Combine(FixturesDir, relative));
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var buffer = new MemoryStream();
        gzip.CopyTo(buffer);
        return buffer.ToArray();
    }

    public static Profile Read(string relative) => Profile.Parser.ParseFrom(ReadRaw(relative));

    /// <summary>Sample type names as `type:unit`, in pprof order.</summary>
    public static string[] SampleTypes(Profile p)
    {
        var result = new string[p.SampleType.Count];
        for (var i = 0; i < result.Length; i++)
            result[i] = p.StringTable[(int)p.SampleType[i].Type] + ":" + p.StringTable[(int)p.SampleType[i].Unit];
        return result;
    }

    public static List<StackSample> Stacks(Profile p)
    {
        var functions = new Dictionary<ulong, string>();
        foreach (var f in p.Function) functions[f.Id] = p.StringTable[(int)f.Name];
        var locations = new Dictionary<ulong, Location>();
        foreach (var l in p.Location) locations[l.Id] = l;
        var result = new List<StackSample>(p.Sample.Count);
        foreach (var s in p.Sample)
        {
            var frames = new List<string>();
            // location_id[0] is the leaf; within a location the last line is the caller of the inlined ones.
            for (var i = s.LocationId.Count - 1; i >= 0; i--)
            {
                var loc = locations[s.LocationId[i]];
                for (var j = loc.Line.Count - 1; j >= 0; j--)
                    frames.Add(functions.TryGetValue(loc.Line[j].FunctionId, out var name) ? name : "unknown");
            }
            var labels = new Dictionary<string, string>();
            foreach (var label in s.Label)
                if (label.Str != 0) labels[p.StringTable[(int)label.Key]] = p.StringTable[(int)label.Str];
            result.Add(new StackSample(frames.ToArray(), s.Value.ToArray(), labels));
        }
        return result;
    }
}
