using Pyroscope.Formats.Normalization;
using Pyroscope.Formats.Pprof;
using Pyroscope.Model;
using static Pyroscope.Formats.Tests.Ingest.FixtureSupport;

namespace Pyroscope.Formats.Tests.Ingest;

public sealed class PprofNormalizationTests
{
    public static TheoryData<string> PprofFixtures => new()
    {
        "go/go-cpu.pb.gz", "go/go-heap.pb.gz", "go/go-goroutine.pb.gz",
        "datadog/ddpprof-wall-cpu.pb.gz", "datadog/ddpprof-heap.pb", "datadog/ddpprof-heap.pb.gz",
        "nodejs/nodejs-001.pb.gz", "nodejs/nodejs-002.pb.gz", "nodejs/nodejs-003.pb.gz", "nodejs/nodejs-004.pb.gz", "nodejs/nodejs-005.pb.gz",
        "upstream/og_convert_pprof__cpu.pb.gz", "upstream/pprof__go.cpu.labels.pprof", "upstream/pprof__heap_delta",
        "upstream/og_convert_pprof__heap.pb.gz", "upstream/og_convert_pprof__nodejs-wall.pb.gz", "upstream/og_convert_pprof__nodejs-heap.pb.gz",
        "upstream/og_convert_pprof__req_2.pprof", "upstream/pprof__profile_java", "upstream/pprof__profile_python",
        "upstream/pprof__profile_ruby", "upstream/og_convert_pprof__pyspy-1.pb.gz",
    };

    private static readonly Label[] BaseLabels = [new(LabelNames.MetricName, "process_cpu"), new(LabelNames.ServiceName, "svc")];

    [Theory]
    [MemberData(nameof(PprofFixtures))]
    public void Normalised_series_keep_every_total_and_every_stack(string fixture)
    {
        var bytes = Read(fixture);
        var expected = DecodeIndependently(bytes);

        var profile = PprofDecoder.Decode(bytes, 64 << 20, fixture, out var size);
        var series = ProfileNormalizer.Normalize(profile, BaseLabels, TenantLimits.Unlimited, new NormalizeContext(1, 1, size));

        // One sample type per series, named by __type__.
        Assert.All(series, s => Assert.Single(s.Profile.SampleType));
        Assert.All(series, s => Assert.Equal(s.Profile.StringTable[(int)s.Profile.SampleType[0].Type], Label(s, LabelNames.SampleType)));
        Assert.All(series, s => Assert.DoesNotContain(s.Profile.Sample, x => x.Value[0] == 0));

        var expectedTotals = TotalsByType(expected).Where(kv => kv.Value != 0).ToDictionary();
        var actualTotals = Merge(series.Select(s => TotalsByType(s.Profile)));
        Assert.Equal(expectedTotals.OrderBy(k => k.Key), actualTotals.OrderBy(k => k.Key));
        Assert.Equal(StackTotals(expected).OrderBy(k => k.Key), Merge(series.Select(s => StackTotals(s.Profile))).OrderBy(k => k.Key));
    }

    [Fact]
    public void Series_labels_follow_upstream_profile_type_scheme()
    {
        var bytes = Read("go/go-heap.pb.gz");
        var profile = PprofDecoder.Decode(bytes);
        var series = ProfileNormalizer.Normalize(profile, [new(LabelNames.MetricName, "memory"), new(LabelNames.ServiceName, "svc"), new("env", "prod")],
            TenantLimits.Unlimited, new NormalizeContext(1, 1, 0));
        var expected = DecodeIndependently(bytes);
        var periodType = expected.StringTable[(int)expected.PeriodType.Type];
        var periodUnit = expected.StringTable[(int)expected.PeriodType.Unit];
        var types = series.Select(s => Label(s, LabelNames.ProfileType)).Order().ToArray();
        var want = expected.SampleType.Select(t => $"memory:{expected.StringTable[(int)t.Type]}:{expected.StringTable[(int)t.Unit]}:{periodType}:{periodUnit}")
            .Where(id => series.Any(s => Label(s, LabelNames.ProfileType) == id)).Order().ToArray();
        Assert.Equal(want, types);
        Assert.Contains("memory:inuse_space:bytes:space:bytes", types);
        foreach (var s in series)
        {
            Assert.Equal("svc", Label(s, LabelNames.ServiceName));
            Assert.Equal("prod", Label(s, "env"));
            Assert.Equal("memory", Label(s, LabelNames.MetricName));
            Assert.Equal(periodType, Label(s, LabelNames.PeriodType));
            var set = LabelSet.From(s.Labels.Select(l => new Label(l.Name, l.Value)));
            Assert.Equal(set.Fingerprint, s.Fingerprint);
            Assert.True(Guid.TryParse(s.Id, out _));
            Assert.Equal(expected.TimeNanos, s.Profile.TimeNanos);
        }
        Assert.Equal(series.Count, series.Select(s => s.Id).Distinct().Count());
    }

    [Fact]
    public void Pprof_string_labels_split_series_and_span_ids_stay_on_samples()
    {
        var bytes = Read("upstream/pprof__go.cpu.labels.pprof");
        var expected = DecodeIndependently(bytes);
        var labelKeys = expected.Sample.SelectMany(s => s.Label).Where(l => l.Str > 0).Select(l => expected.StringTable[(int)l.Key]).Distinct().ToArray();
        Assert.NotEmpty(labelKeys);

        var series = ProfileNormalizer.Normalize(PprofDecoder.Decode(bytes), BaseLabels, TenantLimits.Unlimited, new NormalizeContext(1, 1, 0));
        var distinctSets = expected.Sample
            .Select(s => string.Join(",", s.Label.Where(l => l.Str > 0 && expected.StringTable[(int)l.Key] is not ("span_id" or "trace_id" or "profile_id"))
                .Select(l => expected.StringTable[(int)l.Key] + "=" + expected.StringTable[(int)l.Str]).Order()))
            .Distinct().Count();
        Assert.Equal(distinctSets * expected.SampleType.Count, series.Count);
        foreach (var key in labelKeys.Where(k => k is not ("span_id" or "trace_id" or "profile_id")))
        {
            Assert.Contains(series, s => Label(s, key) is not null);
        }
        Assert.All(series, s => Assert.All(s.Profile.Sample, x => Assert.DoesNotContain(x.Label, l => s.Profile.StringTable[(int)l.Key] is not ("span_id" or "trace_id"))));
    }

    [Fact]
    public void Profile_id_becomes_a_span_id_sample_label_not_a_series_label()
    {
        var builder = new Legacy.StackProfileBuilder();
        builder.AddStack(["main", "work"], 5);
        builder.AddStack(["main", "idle"], 7);
        var profile = builder.Build("cpu", "nanoseconds", 1, 1);
        profile.StringTable.Add("profile_id");
        profile.StringTable.Add("abc");
        profile.StringTable.Add("region");
        profile.StringTable.Add("eu");
        var n = profile.StringTable.Count;
        profile.Sample[0].Label.Add(new Contracts.Google.V1.Label { Key = n - 4, Str = n - 3 });
        profile.Sample[0].Label.Add(new Contracts.Google.V1.Label { Key = n - 2, Str = n - 1 });

        var series = ProfileNormalizer.Normalize(profile, BaseLabels, TenantLimits.Unlimited, new NormalizeContext(1, 1, 0));

        Assert.Equal(2, series.Count);
        var eu = Assert.Single(series, s => Label(s, "region") == "eu");
        Assert.Null(Label(eu, "profile_id"));
        Assert.Null(Label(eu, "span_id"));
        var sampleLabel = Assert.Single(Assert.Single(eu.Profile.Sample).Label);
        Assert.Equal("span_id", eu.Profile.StringTable[(int)sampleLabel.Key]);
        Assert.Equal("abc", eu.Profile.StringTable[(int)sampleLabel.Str]);
    }

    [Fact]
    public void Deep_stacks_are_truncated_to_the_root_most_frames_and_long_symbols_keep_their_end()
    {
        var builder = new Legacy.StackProfileBuilder();
        var frames = Enumerable.Range(0, 1500).Select(i => "f" + i).ToList();
        frames[1499] = new string('x', 70000) + "leaf";
        builder.AddStack(frames, 3);
        var profile = builder.Build("cpu", "nanoseconds", 1, 1);

        var series = Assert.Single(ProfileNormalizer.Normalize(profile, BaseLabels, TenantLimits.Defaults with { RejectOlderThan = TimeSpan.Zero, RejectNewerThan = TimeSpan.Zero }, new NormalizeContext(1, 1, 0)));

        var sample = Assert.Single(series.Profile.Sample);
        Assert.Equal(1000, sample.LocationId.Count);
        var stack = Assert.Single(StackTotals(series.Profile)).Key.Split('|')[1].Split(';');
        Assert.Equal("f0", stack[0]);
        Assert.Equal("f999", stack[^1]);
        Assert.All(series.Profile.StringTable, s => Assert.True(s.Length <= 65535));
        Assert.Contains(series.Profile.StringTable, s => s.EndsWith("leaf", StringComparison.Ordinal) && s.Length == 65535);
    }

    [Fact]
    public void Zero_samples_are_dropped_and_duplicates_merged()
    {
        var builder = new Legacy.StackProfileBuilder();
        builder.AddStack(["a", "b"], 1);
        builder.AddStack(["a", "b"], 2);
        var profile = builder.Build("cpu", "nanoseconds", 1, 1);
        profile.Sample.Add(new Contracts.Google.V1.Sample { LocationId = { 1 }, Value = { 0 } });

        var series = Assert.Single(ProfileNormalizer.Normalize(profile, BaseLabels, TenantLimits.Unlimited, new NormalizeContext(1, 1, 0)));

        var sample = Assert.Single(series.Profile.Sample);
        Assert.Equal(3, sample.Value[0]);
    }

    [Fact]
    public void Missing_time_uses_the_fallback_and_service_name_defaults_to_unspecified()
    {
        var builder = new Legacy.StackProfileBuilder();
        builder.AddStack(["a"], 1);
        var profile = builder.Build("cpu", "nanoseconds", 0, 0);
        var series = Assert.Single(ProfileNormalizer.Normalize(profile, [new(LabelNames.MetricName, "process_cpu")], TenantLimits.Unlimited, new NormalizeContext(99, 1_700_000_000_000_000_000, 0)));
        Assert.Equal(1_700_000_000_000_000_000, series.Profile.TimeNanos);
        Assert.Equal("unspecified", Label(series, LabelNames.ServiceName));
    }
}
