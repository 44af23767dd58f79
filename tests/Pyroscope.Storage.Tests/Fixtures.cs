using System.IO.Compression;
using Google.Protobuf;
using Pyroscope.Contracts.Google.V1;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Contracts.Types.V1;
using Pyroscope.Model;
using Pyroscope.Testing;

namespace Pyroscope.Storage.Tests;

/// <summary>Real profiles from ../shared/fixtures, split into single-sample-type series the way a distributor would.</summary>
public static class Fixtures
{
    public static readonly string[] PprofFiles =
    [
        "go/go-cpu.pb.gz",
        "go/go-heap.pb.gz",
        "go/go-goroutine.pb.gz",
        "nodejs/nodejs-001.pb.gz",
        "nodejs/nodejs-002.pb.gz",
        "datadog/ddpprof-wall-cpu.pb.gz",
        "datadog/ddpprof-heap.pb.gz",
        "upstream/og_convert_pprof__cpu.pb.gz",
        "upstream/og_convert_pprof__dotnet-pprof-3.pb.gz",
        "upstream/og_convert_pprof__pyspy-1.pb.gz",
        "upstream/pprof__profile_java",
    ];

    public static string Directory => RepositoryPaths.Fixtures;

    public static byte[] ReadRaw(string relativePath) => File.ReadAllBytes(Path.Combine(Directory, relativePath));

    public static Profile Decode(string relativePath)
    {
        var bytes = ReadRaw(relativePath);
        if (bytes.Length > 2 && bytes[0] == 0x1f && bytes[1] == 0x8b)
        {
            using var gzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
            using var plain = new MemoryStream();
            gzip.CopyTo(plain);
            bytes = plain.ToArray();
        }
        return Profile.Parser.ParseFrom(bytes);
    }

    /// <summary>One series per sample type, labelled like the distributor labels them.</summary>
    public static List<ProfileSeries> ToSeries(Profile profile, string service, long timestampMs, string? idPrefix = null)
    {
        var result = new List<ProfileSeries>();
        for (var t = 0; t < profile.SampleType.Count; t++)
        {
            var single = profile.Clone();
            single.SampleType.Clear();
            single.SampleType.Add(profile.SampleType[t]);
            single.TimeNanos = timestampMs * 1_000_000;
            for (var s = 0; s < single.Sample.Count; s++)
            {
                var value = profile.Sample[s].Value[t];
                single.Sample[s].Value.Clear();
                single.Sample[s].Value.Add(value);
            }
            var type = TypeOf(profile, t);
            var labels = LabelSet.From([new Label(LabelNames.ServiceName, service), .. type.SeriesLabels()]);
            var series = new ProfileSeries
            {
                Profile = single,
                Id = idPrefix is null ? Guid.NewGuid().ToString() : $"{idPrefix}-{t}",
                Fingerprint = labels.Fingerprint,
            };
            foreach (var label in labels.Labels)
            {
                series.Labels.Add(new LabelPair { Name = label.Name, Value = label.Value });
            }
            result.Add(series);
        }
        return result;
    }

    public static ProfileTypeId TypeOf(Profile profile, int sampleType)
    {
        string S(long i) => i > 0 && i < profile.StringTable.Count ? profile.StringTable[(int)i] : "";
        var st = profile.SampleType[sampleType];
        var periodType = profile.PeriodType is null ? "" : S(profile.PeriodType.Type);
        var periodUnit = profile.PeriodType is null ? "" : S(profile.PeriodType.Unit);
        var name = S(st.Type) switch
        {
            "cpu" or "samples" when periodType == "cpu" => "process_cpu",
            "inuse_space" or "inuse_objects" or "alloc_space" or "alloc_objects" => "memory",
            "goroutine" or "goroutines" => "goroutines",
            "wall" => "wall",
            _ => "custom",
        };
        return new ProfileTypeId(name, S(st.Type) is { Length: > 0 } a ? a : "unknown", S(st.Unit) is { Length: > 0 } u ? u : "count",
            periodType.Length > 0 ? periodType : "none", periodUnit.Length > 0 ? periodUnit : "none");
    }

    /// <summary>Expected stack totals of a single-sample-type profile, decoded independently of the engine.</summary>
    public static Dictionary<string, long> ExpectedStacks(Profile profile)
    {
        // Ids of 0 (as the .NET profiler sends them) mean positional ids.
        var functions = profile.Function.Select((f, i) => (Id: f.Id == 0 || profile.Function.Any(x => x.Id == 0) ? (ulong)i + 1 : f.Id, f)).ToDictionary(x => x.Id, x => x.f);
        var locations = profile.Location.Select((l, i) => (Id: profile.Location.Any(x => x.Id == 0) ? (ulong)i + 1 : l.Id, l)).ToDictionary(x => x.Id, x => x.l);
        var result = new Dictionary<string, long>();
        foreach (var sample in profile.Sample)
        {
            if (sample.Value[0] == 0 || sample.LocationId.Count == 0)
            {
                continue;
            }
            var frames = new List<string>();
            foreach (var id in sample.LocationId.Reverse())
            {
                var loc = locations[id];
                if (loc.Line.Count == 0)
                {
                    frames.Add("0x" + loc.Address.ToString("x"));
                }
                foreach (var line in loc.Line.Reverse())
                {
                    frames.Add(profile.StringTable[(int)functions[line.FunctionId].Name]);
                }
            }
            var key = string.Join(";", frames);
            result[key] = result.GetValueOrDefault(key) + sample.Value[0];
        }
        foreach (var key in result.Where(kv => kv.Value == 0).Select(kv => kv.Key).ToList())
        {
            result.Remove(key);
        }
        return result;
    }

    public static PushRequest Push(IEnumerable<ProfileSeries> series)
    {
        var request = new PushRequest();
        request.Series.AddRange(series);
        return request;
    }

    public static long GzippedSize(Profile profile)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            profile.WriteTo(gzip);
        }
        return output.Length;
    }
}

/// <summary>Collects merged stacks as "root;...;leaf" → value.</summary>
public sealed class CollectingSink : IStackSink
{
    private readonly List<string> _names = [];
    private readonly Dictionary<string, int> _ids = [];

    public Dictionary<string, long> Stacks { get; } = [];

    public int InternCalls { get; private set; }

    public int Intern(string frameName)
    {
        InternCalls++;
        if (!_ids.TryGetValue(frameName, out var id))
        {
            id = _names.Count;
            _names.Add(frameName);
            _ids.Add(frameName, id);
        }
        return id;
    }

    public void Add(ReadOnlySpan<int> rootToLeaf, long value)
    {
        var parts = new string[rootToLeaf.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            parts[i] = _names[rootToLeaf[i]];
        }
        var key = string.Join(";", parts);
        Stacks[key] = Stacks.GetValueOrDefault(key) + value;
    }
}
