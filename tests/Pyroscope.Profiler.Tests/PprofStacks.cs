using System.IO.Compression;
using Google.Protobuf;
using Pyroscope.Contracts.Google.V1;

namespace Pyroscope.Profiler.Tests;

/// <summary>A pprof decoded the plain way (gzip → protobuf → string table), as stacks root → leaf.</summary>
internal sealed class PprofStacks
{
    public required string SampleType { get; init; }
    public required string SampleUnit { get; init; }
    public required string PeriodType { get; init; }
    public required List<(string[] RootFirst, long Value, string? SpanId)> Samples { get; init; }

    public long Total => Samples.Sum(s => s.Value);

    public static PprofStacks Decode(byte[] maybeGzipped)
    {
        var raw = maybeGzipped;
        if (raw.Length > 2 && raw[0] == 0x1f && raw[1] == 0x8b)
        {
            using var gzip = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
            using var plain = new MemoryStream();
            gzip.CopyTo(plain);
            raw = plain.ToArray();
        }
        return From(Profile.Parser.ParseFrom(raw));
    }

    /// <summary>The profiler's own pprof message, re-read through the server's contracts (an independent decoder).</summary>
    public static PprofStacks From(Pyroscope.Profiler.Pprof.Profile profile) => From(Profile.Parser.ParseFrom(profile.ToByteArray()));

    public static PprofStacks From(Profile profile)
    {
        Assert.Equal("", profile.StringTable[0]);
        Assert.Single(profile.SampleType);
        var functions = profile.Function.ToDictionary(f => f.Id, f => profile.StringTable[(int)f.Name]);
        var locations = profile.Location.ToDictionary(l => l.Id, l => functions[l.Line.Single().FunctionId]);
        var spanKey = profile.StringTable.IndexOf("span_id");
        var samples = profile.Sample
            .Select(s => (s.LocationId.Reverse().Select(id => locations[id]).ToArray(), s.Value.Single(),
                s.Label.Where(l => l.Key == spanKey && spanKey > 0).Select(l => profile.StringTable[(int)l.Str]).FirstOrDefault()))
            .ToList();
        return new PprofStacks
        {
            SampleType = profile.StringTable[(int)profile.SampleType[0].Type],
            SampleUnit = profile.StringTable[(int)profile.SampleType[0].Unit],
            PeriodType = profile.StringTable[(int)profile.PeriodType.Type],
            Samples = samples,
        };
    }

    /// <summary>Sum of the samples whose stack contains <paramref name="function"/> (its "total").</summary>
    public long TotalOf(string function) =>
        Samples.Where(s => s.RootFirst.Contains(function)).Sum(s => s.Value);

    /// <summary>Sum of the samples whose stack has a frame ending with <paramref name="suffix"/>.</summary>
    public long TotalEndingWith(string suffix) =>
        Samples.Where(s => s.RootFirst.Any(f => f.EndsWith(suffix, StringComparison.Ordinal))).Sum(s => s.Value);

    /// <summary>Totals of the functions called directly by <paramref name="parent"/>.</summary>
    public Dictionary<string, long> ChildTotals(string parent)
    {
        var totals = new Dictionary<string, long>();
        foreach (var (stack, value, _) in Samples)
        {
            var index = Array.IndexOf(stack, parent);
            if (index >= 0 && index + 1 < stack.Length)
            {
                totals[stack[index + 1]] = totals.GetValueOrDefault(stack[index + 1]) + value;
            }
        }
        return totals;
    }

    public static PprofStacks Merge(IEnumerable<PprofStacks> profiles)
    {
        var list = profiles.ToList();
        Assert.NotEmpty(list);
        return new PprofStacks
        {
            SampleType = list[0].SampleType,
            SampleUnit = list[0].SampleUnit,
            PeriodType = list[0].PeriodType,
            Samples = list.SelectMany(p => p.Samples).ToList(),
        };
    }
}
