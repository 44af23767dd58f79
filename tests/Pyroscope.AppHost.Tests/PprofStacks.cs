using System.IO.Compression;
using Pyroscope.Contracts.Google.V1;

namespace Pyroscope.AppHost.Tests;

/// <summary>
/// An independent decode of a pushed pprof file into "root;…;leaf" → value for one sample type, to compare with
/// what the querier returns. Shares no code with the server's normaliser.
/// </summary>
internal sealed record PprofStacks(Dictionary<string, long> Stacks, long TimeSeconds)
{
    public static PprofStacks Decode(byte[] gzipped, string sampleType)
    {
        using var input = new GZipStream(new MemoryStream(gzipped), CompressionMode.Decompress);
        var profile = Profile.Parser.ParseFrom(input);
        var valueIndex = -1;
        for (var i = 0; i < profile.SampleType.Count; i++)
        {
            if (profile.StringTable[(int)profile.SampleType[i].Type] == sampleType)
            {
                valueIndex = i;
            }
        }
        Assert.True(valueIndex >= 0, $"the fixture has no {sampleType} samples");

        var functions = profile.Function.ToDictionary(f => f.Id, f => profile.StringTable[(int)f.Name]);
        var locations = profile.Location.ToDictionary(l => l.Id);
        var stacks = new Dictionary<string, long>(StringComparer.Ordinal);
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
        return new PprofStacks(stacks, profile.TimeNanos / 1_000_000_000);
    }
}
