using System.IO.Compression;
using Pyroscope.Contracts.Google.V1;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Contracts.Types.V1;
using Pyroscope.Testing;

namespace Pyroscope.Benchmarks.Storage;

/// <summary>Real fixture profiles (../shared/fixtures) as single-type series, for the storage benchmarks.</summary>
internal static class StorageBenchData
{
    public static string FixturesDirectory() => RepositoryPaths.Fixtures;


    public static Profile Decode(string relativePath)
    {
        var bytes = File.ReadAllBytes(Path.Combine(FixturesDirectory(), relativePath));
        if (bytes[0] == 0x1f && bytes[1] == 0x8b)
        {
            using var gzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
            using var plain = new MemoryStream();
            gzip.CopyTo(plain);
            bytes = plain.ToArray();
        }
        return Profile.Parser.ParseFrom(bytes);
    }

    /// <summary>The CPU nanoseconds series of go-cpu.pb.gz (737 samples, 398 locations).</summary>
    public static ProfileSeries GoCpuSeries(string id, long timestampMs)
    {
        var profile = Decode("go/go-cpu.pb.gz");
        foreach (var sample in profile.Sample)
        {
            var v = sample.Value[1];
            sample.Value.Clear();
            sample.Value.Add(v);
        }
        var type = profile.SampleType[1];
        profile.SampleType.Clear();
        profile.SampleType.Add(type);
        profile.TimeNanos = timestampMs * 1_000_000;
        var series = new ProfileSeries { Profile = profile, Id = id };
        series.Labels.Add(new LabelPair { Name = "__profile_type__", Value = "process_cpu:cpu:nanoseconds:cpu:nanoseconds" });
        series.Labels.Add(new LabelPair { Name = "service_name", Value = "bench" });
        return series;
    }
}
