using Pyroscope.Contracts.Google.V1;
using Pyroscope.Formats.Legacy;
using Pyroscope.Formats.Normalization;
using Pyroscope.Formats.Pprof;
using Pyroscope.Model;
using Label = Pyroscope.Model.Label;

namespace Pyroscope.Formats.Tests.Ingest;

public sealed class ValidationTests
{
    private static readonly TenantLimits Limits = TenantLimits.Defaults with { RejectOlderThan = TimeSpan.Zero, RejectNewerThan = TimeSpan.Zero };

    private static Profile Small(int samples = 1)
    {
        var builder = new StackProfileBuilder();
        for (var i = 0; i < samples; i++)
        {
            builder.AddStack(["main", "f" + i], 1);
        }
        return builder.Build("cpu", "nanoseconds", 1_700_000_000_000_000_000, 1);
    }

    private static List<Label> Labels(params (string, string)[] extra)
    {
        var labels = new List<Label> { new(LabelNames.MetricName, "process_cpu"), new(LabelNames.ServiceName, "svc") };
        labels.AddRange(extra.Select(e => new Label(e.Item1, e.Item2)));
        return labels;
    }

    private static ProfileValidationException Refused(Profile profile, IEnumerable<Label> labels, TenantLimits limits, long now = 1_700_000_000_000_000_000, int size = 0) =>
        Assert.Throws<ProfileValidationException>(() => ProfileNormalizer.Normalize(profile, labels, limits, new NormalizeContext(now, 0, size)));

    [Fact]
    public void Too_many_labels_names_the_limit_and_the_count()
    {
        var labels = Labels(Enumerable.Range(0, 40).Select(i => ("l" + i, "v")).ToArray());
        var e = Refused(Small(), labels, Limits);
        Assert.Equal(DiscardReasons.MaxLabelNamesPerSeries, e.Reason);
        Assert.Contains("42 label names; limit 30", e.Message);
        Assert.Contains("max_label_names_per_series", e.Message);
    }

    [Fact]
    public void Oversized_label_value_and_name_are_refused()
    {
        var e = Refused(Small(), Labels(("big", new string('v', 3000))), Limits);
        Assert.Equal(DiscardReasons.LabelValueTooLong, e.Reason);
        Assert.Contains("max_label_value_length 2048", e.Message);

        e = Refused(Small(), Labels((new string('n', 1100), "v")), Limits);
        Assert.Equal(DiscardReasons.LabelNameTooLong, e.Reason);
        Assert.Contains("1100 characters", e.Message);
    }

    [Fact]
    public void Too_many_samples_names_the_limit()
    {
        var e = Refused(Small(20), Labels(), Limits with { MaxProfileStacktraceSamples = 10 });
        Assert.Equal(DiscardReasons.SamplesLimit, e.Reason);
        Assert.Contains("max_profile_stacktrace_samples, actual: 20, limit: 10", e.Message);
    }

    [Fact]
    public void Profile_size_over_limit_is_refused()
    {
        var e = Refused(Small(), Labels(), Limits, size: 5 << 20);
        Assert.Equal(DiscardReasons.ProfileSizeLimit, e.Reason);
        Assert.Contains($"actual: {5 << 20}, limit: {4 << 20}", e.Message);
    }

    [Fact]
    public void Too_many_sample_labels_is_refused()
    {
        var profile = Small();
        for (var i = 0; i < 101; i++)
        {
            profile.StringTable.Add("k" + i);
            profile.Sample[0].Label.Add(new Contracts.Google.V1.Label { Key = profile.StringTable.Count - 1, Num = i });
        }
        var e = Refused(profile, Labels(), Limits);
        Assert.Equal(DiscardReasons.SampleLabelsLimit, e.Reason);
        Assert.Contains("actual: 101, limit: 100", e.Message);
    }

    [Fact]
    public void Profiles_outside_the_ingestion_window_are_refused()
    {
        var now = 1_700_000_000_000_000_000L + TimeSpan.FromHours(2).Ticks * 100;
        var e = Refused(Small(), Labels(), TenantLimits.Defaults, now);
        Assert.Equal(DiscardReasons.NotInIngestionWindow, e.Reason);
        Assert.Contains("reject_older_than", e.Message);
    }

    [Fact]
    public void Malformed_references_are_refused()
    {
        var profile = Small();
        profile.Sample[0].LocationId.Add(999);
        var e = Refused(profile, Labels(), Limits);
        Assert.Equal(DiscardReasons.MalformedProfile, e.Reason);
        Assert.Contains("unknown location id 999", e.Message);

        profile = Small();
        profile.Function[0].Id = 0;
        Assert.Contains("function id is 0", Refused(profile, Labels(), Limits).Message);

        profile = Small();
        profile.Location[0].Line[0].FunctionId = 777;
        e = Refused(profile, Labels(), Limits);
        Assert.Equal(DiscardReasons.MalformedProfile, e.Reason);
        Assert.Contains($"location {profile.Location[0].Id} references unknown function id 777", e.Message);
    }

    [Fact]
    public void Truncated_protobuf_gives_a_format_error()
    {
        var plain = FixtureSupport.DecodeIndependently(FixtureSupport.Read("go/go-cpu.pb.gz"));
        var bytes = Google.Protobuf.MessageExtensions.ToByteArray(plain);
        var truncated = bytes.AsMemory(0, bytes.Length / 2);
        var e = Assert.Throws<ProfileFormatException>(() => PprofDecoder.Decode(truncated, 1 << 20, "pprof", out _));
        Assert.Contains("not a valid pprof protobuf", e.Message);
    }

    [Fact]
    public void Truncated_gzip_gives_a_format_error()
    {
        var bytes = FixtureSupport.Read("go/go-cpu.pb.gz");
        var e = Assert.ThrowsAny<ProfileFormatException>(() => PprofDecoder.Decode(bytes.AsMemory(0, bytes.Length / 2), 1 << 20, "pprof", out _));
        Assert.Contains("pprof", e.Message);
    }

    [Fact]
    public void Gzip_bomb_stops_at_the_cap_and_names_the_limit()
    {
        using var compressed = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(compressed, System.IO.Compression.CompressionLevel.SmallestSize, leaveOpen: true))
        {
            var zeros = new byte[1 << 20];
            for (var i = 0; i < 64; i++)
            {
                gzip.Write(zeros);
            }
        }
        Assert.True(compressed.Length < 200_000);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<ProfileTooLargeException>(() => PprofDecoder.Decode(compressed.ToArray(), 4 << 20, "pprof", out _));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains($"limit of {4 << 20} bytes", e.Message);
        Assert.True(allocated < 32 << 20, $"allocated {allocated} bytes decompressing a 64 MiB bomb with a 4 MiB cap");
    }
}
