using System.IO.Compression;
using Pyroscope.Contracts.Google.V1;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Testing;

namespace Pyroscope.Formats.Tests.Ingest;

/// <summary>Fixture access and an independent pprof reading (plain GZipStream + Google.Protobuf) for expectations.</summary>
internal static class FixtureSupport
{
    public static string PathOf(string relative) => RepositoryPaths.Fixture(relative);

    public static byte[] Read(string relative) => File.ReadAllBytes(PathOf(relative));

    /// <summary>Decodes independently of the code under test.</summary>
    public static Profile DecodeIndependently(byte[] bytes)
    {
        if (bytes.Length > 2 && bytes[0] == 0x1f && bytes[1] == 0x8b)
        {
            using var gzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
            using var plain = new MemoryStream();
            gzip.CopyTo(plain);
            bytes = plain.ToArray();
        }
        return Profile.Parser.ParseFrom(bytes);
    }

    /// <summary>Per sample type name: total of that value over all samples.</summary>
    public static Dictionary<string, long> TotalsByType(Profile p)
    {
        var totals = new Dictionary<string, long>();
        for (var t = 0; t < p.SampleType.Count; t++)
        {
            var name = p.StringTable[(int)p.SampleType[t].Type];
            long sum = 0;
            foreach (var s in p.Sample)
            {
                sum += s.Value[t];
            }
            totals[name] = totals.GetValueOrDefault(name) + sum;
        }
        return totals;
    }

    /// <summary>Per (sample type, root→leaf function-name stack): total value. Zero totals omitted.</summary>
    public static Dictionary<string, long> StackTotals(Profile p)
    {
        var functions = p.Function.ToDictionary(f => f.Id, f => p.StringTable[(int)f.Name]);
        var locations = p.Location.ToDictionary(l => l.Id);
        var totals = new Dictionary<string, long>();
        foreach (var s in p.Sample)
        {
            var frames = new List<string>();
            for (var i = s.LocationId.Count - 1; i >= 0; i--)
            {
                var location = locations[s.LocationId[i]];
                if (location.Line.Count == 0)
                {
                    frames.Add("0x" + location.Address.ToString("x"));
                }
                for (var l = location.Line.Count - 1; l >= 0; l--)
                {
                    frames.Add(functions[location.Line[l].FunctionId]);
                }
            }
            var stack = string.Join(";", frames);
            for (var t = 0; t < p.SampleType.Count; t++)
            {
                if (s.Value[t] == 0)
                {
                    continue;
                }
                var key = p.StringTable[(int)p.SampleType[t].Type] + "|" + stack;
                totals[key] = totals.GetValueOrDefault(key) + s.Value[t];
            }
        }
        return totals;
    }

    public static Dictionary<string, long> Merge(IEnumerable<Dictionary<string, long>> parts)
    {
        var result = new Dictionary<string, long>();
        foreach (var part in parts)
        {
            foreach (var (k, v) in part)
            {
                result[k] = result.GetValueOrDefault(k) + v;
            }
        }
        return result;
    }

    public static string? Label(ProfileSeries series, string name) => series.Labels.FirstOrDefault(l => l.Name == name)?.Value;
}
