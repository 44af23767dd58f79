using Pyroscope.Contracts.Google.V1;
using Pyroscope.Model;
using Label = Pyroscope.Model.Label;
using Pyroscope.Model.Query;
using TypesV1 = Pyroscope.Contracts.Types.V1;
using Pyroscope.Testing;

namespace Pyroscope.Model.Tests;

public class SeriesAndExportTests
{
    private static LabelSet L(params string[] kv)
    {
        var labels = new List<Label>();
        for (var i = 0; i < kv.Length; i += 2)
        {
            labels.Add(new Label(kv[i], kv[i + 1]));
        }
        return LabelSet.From(labels);
    }

    [Fact]
    public void Series_buckets_on_steps_and_aggregates()
    {
        var a = L("service_name", "a", "pod", "1");
        var b = L("service_name", "a", "pod", "2");
        var c = L("service_name", "b", "pod", "3");
        ProfileTotal[] totals =
        [
            new(a, 1000, 10, "1"), // on start
            new(b, 1500, 20, "2"), // → 10000
            new(a, 10000, 30, "3"), // → 10000
            new(c, 10001, 5, "4"), // → 19000? no: step 9000 → start+2*9000 = 19000
            new(a, 30000, 99, "5"), // after the last step (19000 + 9000 > end): dropped
        ];
        var one = SeriesAggregator.Aggregate(totals, 1000, 25000, 9000, [], TypesV1.TimeSeriesAggregationType.Sum, null);
        var s = Assert.Single(one);
        Assert.Empty(s.Labels);
        Assert.Equal([(1000L, 10d), (10000L, 50d), (19000L, 5d)], s.Points.Select(p => (p.Timestamp, p.Value)));

        var avg = SeriesAggregator.Aggregate(totals, 1000, 25000, 9000, [], TypesV1.TimeSeriesAggregationType.Average, null);
        Assert.Equal(25d, avg[0].Points[1].Value);

        var grouped = SeriesAggregator.Aggregate(totals, 1000, 25000, 9000, ["service_name"], TypesV1.TimeSeriesAggregationType.Sum, null);
        Assert.Equal(["a", "b"], grouped.Select(g => g.Labels.Single().Value));
        Assert.Equal(60d, grouped[0].Points.Sum(p => p.Value));

        var top = SeriesAggregator.Aggregate(totals, 1000, 25000, 9000, ["pod"], TypesV1.TimeSeriesAggregationType.Sum, 1);
        Assert.Equal("1", Assert.Single(top).Labels.Single().Value); // pod 1: 40, pod 2: 20, pod 3: 5
    }

    [Theory]
    [InlineData(3_600_000, 15)]
    [InlineData(86_400_000, 60)]
    [InlineData(7 * 86_400_000L, 300)]
    public void Timeline_step_follows_upstream(long rangeMs, double expected) =>
        Assert.Equal(expected, TimelineBuilder.StepSeconds(0, rangeMs));

    [Fact]
    public void Timeline_backfills_missing_steps()
    {
        var series = new TypesV1.Series();
        series.Points.Add(new TypesV1.Point { Timestamp = 1_700_000_030_000, Value = 7 });
        var t = TimelineBuilder.Build(series, 1_700_000_000_000, 1_700_000_060_000, 15);
        Assert.Equal(1_700_000_000, t.StartTimeSeconds);
        Assert.Equal([0UL, 0UL, 7UL, 0UL], t.Samples);
    }

    [Theory]
    [InlineData("now", 1_000_000_000_000)]
    [InlineData("now-1h", 1_000_000_000_000 - 3_600_000)]
    [InlineData("now-7d", 1_000_000_000_000 - 7 * 86_400_000L)]
    [InlineData("1700000000", 1_700_000_000_000)]
    [InlineData("1700000000123", 1_700_000_000_123)]
    [InlineData("1700000000123456", 1_700_000_000_123)]
    [InlineData("1700000000123456789", 1_700_000_000_123)]
    public void Query_time_parses_relative_and_unix(string text, long expected)
    {
        Assert.True(QueryTime.TryParseMs(text, 1_000_000_000_000, out var ms));
        Assert.Equal(expected, ms);
    }

    [Theory]
    [InlineData("yesterday")]
    [InlineData("now-1x")]
    [InlineData("-5")]
    public void Query_time_rejects_garbage(string text) => Assert.False(QueryTime.TryParseMs(text, 0, out _));

    [Fact]
    public void Pprof_export_decodes_to_the_same_stacks()
    {
        var input = PprofFixtures.LoadPprof("go/go-cpu.pb.gz");
        var stacks = PprofFixtures.Stacks(input, 1);
        var tree = new StackTree();
        foreach (var (s, v) in stacks)
        {
            tree.Add(v, s);
        }
        var type = PprofFixtures.TypesOf(input, "process_cpu")[1];
        var bytes = Google.Protobuf.MessageExtensions.ToByteArray(StackExports.ToPprof(tree, type, 0, new TimeRange(1000, 2000)));

        var decoded = Profile.Parser.ParseFrom(bytes);
        Assert.Equal("", decoded.StringTable[0]);
        Assert.Equal("cpu", decoded.StringTable[(int)decoded.SampleType[0].Type]);
        Assert.Equal("nanoseconds", decoded.StringTable[(int)decoded.SampleType[0].Unit]);
        // One function and one location per distinct frame name.
        var names = decoded.Function.Select(f => decoded.StringTable[(int)f.Name]).ToList();
        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.Equal(decoded.Function.Count, decoded.Location.Count);
        Assert.Equal(PprofFixtures.Folded(stacks).OrderBy(k => k.Key, StringComparer.Ordinal),
            PprofFixtures.Folded(PprofFixtures.Stacks(decoded, 0)).OrderBy(k => k.Key, StringComparer.Ordinal));
    }
}
