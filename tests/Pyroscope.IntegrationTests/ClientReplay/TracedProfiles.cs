using Google.Protobuf;
using Pyroscope.Contracts.Google.V1;
using Pyroscope.Contracts.Push.V1;
using Pyroscope.Contracts.Types.V1;
using Pyroscope.Testing;
using PprofLabel = Pyroscope.Contracts.Google.V1.Label;

namespace Pyroscope.IntegrationTests.ClientReplay;

/// <summary>
/// What an OpenTelemetry-instrumented Go program sends: go-cpu.pb.gz twice (profile A at <see cref="T0"/>, profile B
/// 30 s later with every fourth sample left out), each sample labelled with a trace id (A or B by i % 2) and, for two
/// thirds of them, a span id (i % 3). The pprof <c>handler</c> labels are taken off so each push is one series per
/// sample type. Every expected value is computed here from these pprof messages, sharing no code with the server.
/// </summary>
public sealed class TracedProfiles
{
    public const string CpuProfileType = "process_cpu:cpu:nanoseconds:cpu:nanoseconds";
    public const int CpuIndex = 1;
    public const string TraceA = "4bf92f3577b34da6a3ce929d0e0e4736";
    public const string TraceB = "0af7651916cd43dd8448eb211c80319c";
    public const string SpanA = "00f067aa0ba902b7";
    public const string SpanB = "b7ad6b7169203331";

    public TracedProfiles(string service)
    {
        Service = service;
        // A minute boundary a few minutes back: inside every limit, and slots of 15 s line up with it.
        T0 = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 60_000 * 60_000 - 300_000;
        A = Traced(T0, keep: _ => true);
        B = Traced(T0 + 30_000, keep: i => i % 4 != 3);
    }

    public string Service { get; }

    public long T0 { get; }

    public Profile A { get; }

    public Profile B { get; }

    public string Selector => $"{{service_name=\"{Service}\"}}";

    public long Start => T0 - 60_000;

    public long End => T0 + 120_000;

    public static Dictionary<string, long> Stacks(Profile p, Func<Sample, bool>? where = null) =>
        ExpectedStacks.FromPprof(Filtered(p, where), CpuIndex);

    public static long Total(Profile p, Func<Sample, bool>? where = null) => Stacks(p, where).Values.Sum();

    public static Dictionary<string, long> Merge(params Dictionary<string, long>[] parts)
    {
        var merged = new Dictionary<string, long>();
        foreach (var part in parts)
        {
            foreach (var (stack, value) in part)
            {
                merged[stack] = merged.GetValueOrDefault(stack) + value;
            }
        }
        return merged;
    }

    /// <summary>The sample's value of a label (trace_id, span_id); "" without one.</summary>
    public static string LabelOf(Profile p, Sample s, string key)
    {
        foreach (var l in s.Label)
        {
            if (p.StringTable[(int)l.Key] == key)
            {
                return p.StringTable[(int)l.Str];
            }
        }
        return "";
    }

    /// <summary>The total of the stacks that start with <paramref name="callSite"/> (root first).</summary>
    public static long CallSiteTotal(Dictionary<string, long> stacks, IReadOnlyList<string> callSite)
    {
        var prefix = string.Join(';', callSite);
        return stacks.Where(kv => kv.Key == prefix || kv.Key.StartsWith(prefix + ";", StringComparison.Ordinal)).Sum(kv => kv.Value);
    }

    /// <summary>push.v1 as the Go SDK sends it: one series per profile, its labels, the pprof gzip-compressed.</summary>
    public PushRequest PushRequest()
    {
        var request = new PushRequest();
        foreach (var profile in new[] { A, B })
        {
            var series = new RawProfileSeries
            {
                Labels = { new LabelPair { Name = "__name__", Value = "process_cpu" }, new LabelPair { Name = "service_name", Value = Service } },
            };
            using var buffer = new MemoryStream();
            using (var gzip = new System.IO.Compression.GZipStream(buffer, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
            {
                profile.WriteTo(gzip);
            }
            series.Samples.Add(new RawSample { RawProfile = ByteString.CopyFrom(buffer.ToArray()) });
            request.Series.Add(series);
        }
        return request;
    }

    private static Profile Filtered(Profile p, Func<Sample, bool>? where)
    {
        if (where is null)
        {
            return p;
        }
        var copy = p.Clone();
        copy.Sample.Clear();
        copy.Sample.AddRange(p.Sample.Where(where));
        return copy;
    }

    private static Profile Traced(long timeMs, Func<int, bool> keep)
    {
        var profile = Profile.Parser.ParseFrom(ExpectedStacks.Ungzip(File.ReadAllBytes(RepositoryPaths.Fixture("go/go-cpu.pb.gz"))));
        profile.TimeNanos = timeMs * 1_000_000;
        long Str(string s)
        {
            profile.StringTable.Add(s);
            return profile.StringTable.Count - 1;
        }
        var (traceKey, spanKey) = (Str("trace_id"), Str("span_id"));
        long[] traces = [Str(TraceA), Str(TraceB)];
        long[] spans = [Str(SpanA), Str(SpanB)];
        var kept = new List<Sample>();
        for (var i = 0; i < profile.Sample.Count; i++)
        {
            var sample = profile.Sample[i];
            if (!keep(i))
            {
                continue;
            }
            sample.Label.Clear();
            sample.Label.Add(new PprofLabel { Key = traceKey, Str = traces[i % 2] });
            if (i % 3 < 2)
            {
                sample.Label.Add(new PprofLabel { Key = spanKey, Str = spans[i % 3] });
            }
            kept.Add(sample);
        }
        profile.Sample.Clear();
        profile.Sample.AddRange(kept);
        return profile;
    }
}
