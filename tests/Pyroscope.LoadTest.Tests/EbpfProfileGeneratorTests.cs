using Google.Protobuf;
using Pyroscope.Formats.Normalization;
using Pyroscope.Formats.Pprof;
using Pyroscope.LoadTest.Workload;

namespace Pyroscope.LoadTest.Tests;

public sealed class EbpfProfileGeneratorTests
{
    private const long Now = 1_800_000_000_000_000_000;

    [Fact]
    public void TheSameShapeGivesTheSameBytes()
    {
        var first = EbpfProfileGenerator.Generate(new EbpfProfileGenerator.Shape(), Now).ToByteArray();
        var second = EbpfProfileGenerator.Generate(new EbpfProfileGenerator.Shape(), Now).ToByteArray();
        Assert.Equal(first, second);
        var otherSeed = EbpfProfileGenerator.Generate(new EbpfProfileGenerator.Shape { Seed = 1 }, Now).ToByteArray();
        Assert.NotEqual(first, otherSeed);
    }

    [Fact]
    public void IsAFourMegabyteDeepStackProfileTheProductStoresWholly()
    {
        var profile = EbpfProfileGenerator.Generate(new EbpfProfileGenerator.Shape(), Now);
        var gzipped = FixtureBody.Gzip(profile.ToByteArray());
        Assert.InRange(gzipped.Length, 3_500_000, 4_500_000);
        Assert.True(profile.Sample.Count >= 10_000, $"{profile.Sample.Count} samples");
        Assert.True(profile.Sample.Max(s => s.LocationId.Count) >= 100, "deep stacks");
        Assert.True(profile.Mapping.Count >= 100 && profile.Location.Count >= 50_000, "many mappings and locations");
        Assert.Contains(profile.Location, l => l.Line.Count == 0);  // unsymbolised frames
        Assert.Contains(profile.Location, l => l.Line.Count > 1);   // inlined frames

        // The product's own decoder and normaliser, with upstream's default limits except the size limit.
        var decoded = PprofDecoder.Decode(gzipped, 64L << 20, "ebpf", out var size);
        var limits = Model.TenantLimits.Defaults with { MaxProfileSizeBytes = 64 << 20 };
        var series = ProfileNormalizer.Normalize(decoded, [new Model.Label("__name__", "process_cpu"), new Model.Label("service_name", "ebpf")], limits, new NormalizeContext(Now, 0, size));
        Assert.Equal(2, series.Count); // samples/count and cpu/nanoseconds
        var cpuIn = profile.Sample.Sum(s => s.Value[1]);
        var cpuOut = series.Single(s => s.Labels.Any(l => l.Name == Model.LabelNames.SampleType && l.Value == "cpu")).Profile.Sample.Sum(s => s.Value[0]);
        Assert.Equal(cpuIn, cpuOut);
    }
}
