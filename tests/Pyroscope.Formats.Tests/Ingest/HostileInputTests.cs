using System.Text;
using System.Web;
using Google.Protobuf;
using Pyroscope.Contracts.Google.V1;
using Pyroscope.Formats.Ingest;
using Pyroscope.Formats.Normalization;
using Pyroscope.Model;
using static Pyroscope.Formats.Tests.Ingest.FixtureSupport;
using Label = Pyroscope.Model.Label;
using ValueType = Pyroscope.Contracts.Google.V1.ValueType;

namespace Pyroscope.Formats.Tests.Ingest;

/// <summary>
/// Each class of hostile body the fuzzing found once gave a 5xx; here each is refused as a client error
/// (<see cref="ProfileFormatException"/> / <see cref="ProfileValidationException"/>) whose message names the problem.
/// </summary>
public sealed class HostileInputTests
{
    private const long Now = 1_700_000_005_000_000_000;

    private static IngestMetadata Metadata(string query)
    {
        var parsed = HttpUtility.ParseQueryString(query);
        return IngestMetadata.Parse(name => parsed[name], Now);
    }

    private static List<Contracts.Ingester.V1.ProfileSeries> DecodeAndNormalize(string query, string? contentType, byte[] body)
    {
        var md = Metadata(query);
        var result = new List<Contracts.Ingester.V1.ProfileSeries>();
        foreach (var d in IngestFormatRegistry.BuiltIn.Decode(md, contentType, body))
        {
            result.AddRange(ProfileNormalizer.Normalize(d.Profile, d.Labels, TenantLimits.Unlimited, new NormalizeContext(Now, md.FromNanos, d.DecompressedSize)));
        }
        return result;
    }

    [Theory]
    [InlineData("gospy")]
    [InlineData("dotnetspy")]
    [InlineData("pyspy")]
    [InlineData("rbspy")]
    public void Sample_type_string_index_out_of_range_is_refused_naming_the_index(string spy)
    {
        var profile = DecodeIndependently(Read("go/go-cpu.pb.gz"));
        profile.SampleType[0].Type = 1_000_000;
        var e = Assert.Throws<ProfileValidationException>(() => DecodeAndNormalize($"name=app&format=pprof&spyName={spy}", null, profile.ToByteArray()));
        Assert.Equal(DiscardReasons.MalformedProfile, e.Reason);
        Assert.Contains("string index 1000000 out of range", e.Message);
    }

    [Theory]
    [InlineData("pyspy")]
    [InlineData("rbspy")]
    [InlineData("dotnetspy")]
    public void Function_string_indices_out_of_range_survive_the_spy_fix_ups(string spy)
    {
        var profile = DecodeIndependently(Read("upstream/og_convert_pprof__pyspy-1.pb.gz"));
        profile.Function[0].Filename = -5;
        profile.Function[1].Name = long.MaxValue;
        var e = Assert.Throws<ProfileValidationException>(() => DecodeAndNormalize($"name=app&format=pprof&spyName={spy}", null, profile.ToByteArray()));
        Assert.Contains($"string index {long.MaxValue} out of range", e.Message);
    }

    [Fact]
    public void Sample_type_config_with_a_null_entry_is_refused_naming_it()
    {
        var (contentType, body) = IngestFormatDecodingTests.Multipart(("profile", Read("go/go-cpu.pb.gz")), ("sample_type_config", """{"cpu":null}"""u8.ToArray()));
        var e = Assert.Throws<ProfileFormatException>(() => DecodeAndNormalize("name=app", contentType, body));
        Assert.Contains("sample_type_config: entry \"cpu\" is null", e.Message);
    }

    [Theory]
    [InlineData("""{"shared":{"frames":[{"name":"a"}]},"profiles":[{"type":5,"unit":"none","samples":[[0]]}]}""", "unknown type \"\"")]
    [InlineData("""{"shared":{"frames":[{"name":"a"}]},"profiles":[7]}""", "profiles[0] is a number, not an object")]
    [InlineData("""{"shared":{"frames":[{"name":"a"}]},"profiles":[{"type":"sampled","samples":[0]}]}""", "samples[0] is a number, not an array")]
    [InlineData("""{"shared":{"frames":[{"name":"a"}]},"profiles":[{"type":"evented","events":["x"]}]}""", "events[0] is a string, not an object")]
    [InlineData("""{"shared":{"frames":[{"name":"a"}]},"profiles":[{"type":"evented","events":[{"type":1,"at":0,"frame":0}]}]}""", "type must be \"O\" or \"C\"")]
    [InlineData("""{"shared":[],"profiles":[]}""", "missing shared.frames")]
    [InlineData("""{"shared":{"frames":[{"name":"a"}]},"profiles":[{"type":"sampled","samples":[[0]],"weights":[1e999]}]}""", "sample value 9223372036854775807 × period")]
    public void Speedscope_values_of_the_wrong_type_are_refused_naming_where(string json, string message)
    {
        var e = Assert.Throws<ProfileFormatException>(() => DecodeAndNormalize("name=app&format=speedscope", null, Encoding.UTF8.GetBytes(json)));
        Assert.Contains(message, e.Message);
    }

    [Theory]
    [InlineData("from=9999999999999999")] // 16 digits of µs: ×1000 overflows int64 ns
    [InlineData("from=now-1000000000d")]
    [InlineData("until=now%2B9223372036854775s")]
    [InlineData("from=9999-12-31T23:59:59Z")]
    public void Ingest_times_outside_int64_nanoseconds_are_refused_not_wrapped(string parameter)
    {
        var e = Assert.Throws<ProfileFormatException>(() => Metadata("name=app&" + parameter));
        Assert.Contains("out of range", e.Message);
    }

    [Fact]
    public void Identical_stacks_with_extreme_values_saturate_when_merged()
    {
        var profile = DecodeIndependently(Read("go/go-cpu.pb.gz"));
        var first = profile.Sample[0];
        var twin = first.Clone();
        for (var t = 0; t < first.Value.Count; t++)
        {
            first.Value[t] = long.MaxValue;
            twin.Value[t] = long.MaxValue;
        }
        profile.Sample.Add(twin);
        var series = DecodeAndNormalize("name=app&format=pprof&spyName=gospy", null, profile.ToByteArray());
        Assert.Contains(series, s => s.Profile.Sample.Any(x => x.Value[0] == long.MaxValue));
        Assert.All(series, s => Assert.All(s.Profile.Sample, x => Assert.True(x.Value[0] > 0)));
    }
}

/// <summary>
/// Series amplification: a small profile that splits into many series must be refused, or split cheaply,
/// before normalisation copies its symbol tables once per series.
/// </summary>
public sealed class AmplificationTests
{
    private const long Now = 1_700_000_005_000_000_000;

    private static Profile DistinctLabelPerSample(int samples) => Testing.Fuzzing.HostileBodies.DistinctLabelPerSample(samples, Now);

    private static readonly List<Label> Labels = [new(LabelNames.MetricName, "process_cpu"), new(LabelNames.ServiceName, "svc")];

    [Fact]
    public void More_series_than_the_tenant_may_hold_are_refused_before_any_is_built()
    {
        var profile = DistinctLabelPerSample(16_000);
        var context = new NormalizeContext(Now, 0, 0) { MaxSeries = 5000 - 7, SeriesSoFar = 7, MaxSeriesSource = "max_global_series_per_tenant=5000" };
        var e = Assert.Throws<ProfileValidationException>(() => ProfileNormalizer.Normalize(profile, Labels, TenantLimits.Unlimited, context));
        Assert.Equal(DiscardReasons.SeriesLimit, e.Reason);
        Assert.Contains("would create 32007 series, more than max_global_series_per_tenant=5000 allows", e.Message);
        Assert.Contains("16000 pprof label set(s) × 2 sample type(s)", e.Message);
    }

    [Fact]
    public void Without_a_series_cap_each_group_carries_only_the_symbols_it_uses()
    {
        var profile = DistinctLabelPerSample(16_000);
        var series = ProfileNormalizer.Normalize(profile, Labels, TenantLimits.Unlimited, new NormalizeContext(Now, 0, 0));

        Assert.Equal(32_000, series.Count);
        // "", samples, count, cpu, nanoseconds, main, work: not the 16 008-entry table 32 000 times.
        Assert.All(series, s => Assert.Equal(7, s.Profile.StringTable.Count));
        Assert.All(series, s => Assert.Equal(2, s.Profile.Function.Count));
        var stacks = Merge(series.Where(s => s.Labels.Any(l => l.Name == "__unit__" && l.Value == "nanoseconds")).Select(s => StackTotals(s.Profile)));
        Assert.Equal(new Dictionary<string, long> { ["cpu|main;work"] = 10 * 16_000 }, stacks);
        Assert.Contains(series, s => s.Labels.Any(l => l.Name == "request_id" && l.Value == "req-15999"));
    }

    [Fact]
    public void A_profile_whose_series_would_hold_too_many_symbols_is_refused_naming_the_budget()
    {
        // 1 sample over 2 000 distinct frames, × 600 sample types: every series needs all 2 000 frames.
        var profile = new Profile();
        profile.StringTable.Add("");
        var sample = new Sample();
        for (var f = 1; f <= 2000; f++)
        {
            profile.StringTable.Add("frame" + f);
            profile.Function.Add(new Function { Id = (ulong)f, Name = f });
            profile.Location.Add(new Location { Id = (ulong)f, Line = { new Line { FunctionId = (ulong)f } } });
            sample.LocationId.Add((ulong)f);
        }
        for (var t = 0; t < 600; t++)
        {
            profile.SampleType.Add(new ValueType { Type = profile.StringTable.Count });
            profile.StringTable.Add("type" + t);
            sample.Value.Add(1);
        }
        profile.Sample.Add(sample);
        var e = Assert.Throws<ProfileValidationException>(() => ProfileNormalizer.Normalize(profile, Labels, TenantLimits.Unlimited, new NormalizeContext(Now, 0, 0)));
        Assert.Equal(DiscardReasons.ExpansionLimit, e.Reason);
        Assert.Contains("would expand into more than 1000000 symbol entries across its 600 series", e.Message);
    }
}
