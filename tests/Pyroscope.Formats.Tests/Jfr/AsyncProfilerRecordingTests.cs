using System.Text.Json;
using Pyroscope.Formats.Jfr;
using Pyroscope.Model;
using static Pyroscope.Formats.Tests.Jfr.JfrTestSupport;

namespace Pyroscope.Formats.Tests.Jfr;

/// <summary>
/// async-profiler's JFR with a labels snapshot (upstream's dump1 test data) against upstream's expected
/// conversion: a JSON object mapping <c>app.event{labels}</c> to collapsed stacks with sample counts.
/// </summary>
public sealed class AsyncProfilerRecordingTests
{
    private const long SampleRate = 100;

    [Fact]
    public void Cpu_series_per_context_labels_match_upstream_expected_output()
    {
        var jfr = ReadGzip(SharedFixture("upstream/og_convert_jfr__dump1.jfr.gz"));
        var labels = ReadGzip(SharedFixture("upstream/og_convert_jfr__dump1.labels.pb.gz"));
        var expected = ReadExpected(ReadGzip(SharedFixture("upstream/og_convert_jfr__dump1.json.gz")));

        var result = JfrConverter.Convert(jfr, labels, new JfrConvertOptions { SampleRate = SampleRate });

        Assert.Equal("itimer", result.JfrEvent);
        var cpu = result.Where(p => p.Type.Id == "process_cpu:cpu:nanoseconds:cpu:nanoseconds").ToList();
        Assert.Equal(expected.Count, cpu.Count);
        foreach (var profile in cpu)
        {
            var key = profile.ExtraLabels.ToString();
            Assert.True(expected.TryGetValue(key, out var expectedStacks), $"unexpected series {key}");
            var actual = Collapsed(profile.Pprof).ToDictionary(kv => kv.Key, kv => kv.Value / (1_000_000_000 / SampleRate));
            Assert.Equal(expectedStacks.Values.Sum(), actual.Values.Sum());
            Assert.True(expectedStacks.OrderBy(kv => kv.Key).SequenceEqual(actual.OrderBy(kv => kv.Key)), Describe(expectedStacks, actual));
        }
        Assert.DoesNotContain(result, p => p.Type.Name != "process_cpu");
    }

    [Fact]
    public void Without_a_labels_snapshot_all_samples_land_in_one_series()
    {
        var jfr = ReadGzip(SharedFixture("upstream/og_convert_jfr__dump1.jfr.gz"));
        var expected = ReadExpected(ReadGzip(SharedFixture("upstream/og_convert_jfr__dump1.json.gz")));

        var result = JfrConverter.Convert(jfr, [], new JfrConvertOptions { SampleRate = SampleRate });

        var cpu = Assert.Single(result);
        Assert.Equal(LabelSet.Empty, cpu.ExtraLabels);
        Assert.Equal(expected.Values.Sum(s => s.Values.Sum()) * 10_000_000, cpu.Pprof.Sample.Sum(s => s.Value[0]));
    }

    [Fact]
    public void Labels_snapshot_decodes_contexts_and_strings()
    {
        var snapshot = JfrLabelsSnapshot.Parse(ReadGzip(SharedFixture("upstream/og_convert_jfr__dump1.labels.pb.gz")));

        Assert.NotEmpty(snapshot.Contexts);
        Assert.All(snapshot.Contexts.Values, pairs =>
        {
            var (name, value) = Assert.Single(pairs);
            Assert.Equal("thread_name", snapshot.Strings[name]);
            Assert.StartsWith("pool-2-thread-", snapshot.Strings[value]);
        });
    }

    /// <summary>"kafka.app.itimer{thread_name=pool-2-thread-1}" → "{thread_name=\"pool-2-thread-1\"}" as LabelSet prints it.</summary>
    private static Dictionary<string, Dictionary<string, long>> ReadExpected(byte[] json)
    {
        using var document = JsonDocument.Parse(json);
        var result = new Dictionary<string, Dictionary<string, long>>();
        foreach (var series in document.RootElement.EnumerateObject())
        {
            var selector = series.Name[(series.Name.IndexOf('{') + 1)..^1];
            var labels = selector.Length == 0
                ? LabelSet.Empty
                : LabelSet.From(selector.Split(',').Select(pair => pair.Split('=', 2)).Select(kv => new Label(kv[0], kv[1])));
            var stacks = new Dictionary<string, long>();
            foreach (var line in series.Value.GetString()!.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                var space = line.LastIndexOf(' ');
                var stack = Canonical(line[..space]);
                stacks[stack] = stacks.GetValueOrDefault(stack) + long.Parse(line[(space + 1)..]);
            }
            result[labels.ToString()] = stacks;
        }
        return result;
    }
}
