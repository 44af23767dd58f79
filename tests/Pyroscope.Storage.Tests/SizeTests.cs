using Pyroscope.Contracts.Google.V1;
using Pyroscope.Storage.ObjectStore;
using Xunit.Sdk;

namespace Pyroscope.Storage.Tests;

/// <summary>Bytes in object storage after flush versus gzipped pprof bytes ingested (goal: at most 25%).</summary>
public sealed class SizeTests(ITestOutputHelper output)
{
    private static readonly long T0 = TestData.Start.ToUnixTimeMilliseconds();

    public static (long StoredBytes, long GzipBytes, long Samples) Measure(int copies, int seed)
    {
        using var shared = new TempDir();
        var random = new Random(seed);
        long gzip = 0, samples = 0;
        using var storage = new TestStore(new FileSystemObjectStore(shared.Path));
        foreach (var file in Fixtures.PprofFiles)
        {
            var original = Fixtures.Decode(file);
            for (var copy = 0; copy < copies; copy++)
            {
                // A profiler sends a similar profile every 15 s: same code, different counts and a different subset of stacks.
                var profile = copy == 0 ? original : Vary(original, random);
                gzip += Fixtures.GzippedSize(profile);
                samples += profile.Sample.Count;
                var service = "svc-" + Path.GetFileName(file);
                var series = Fixtures.ToSeries(profile, service, T0 + copy * 15_000);
                storage.PushAsync("size", Fixtures.Push(series), CancellationToken.None).GetAwaiter().GetResult();
            }
        }
        storage.FlushAsync().GetAwaiter().GetResult();
        var stored = Directory.EnumerateFiles(shared.Path, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        return (stored, gzip, samples);
    }

    private static Profile Vary(Profile original, Random random)
    {
        var profile = original.Clone();
        for (var i = profile.Sample.Count - 1; i >= 0; i--)
        {
            if (random.NextDouble() < 0.2)
            {
                profile.Sample.RemoveAt(i);
                continue;
            }
            var values = profile.Sample[i].Value;
            for (var v = 0; v < values.Count; v++)
            {
                values[v] = (long)(values[v] * (0.5 + random.NextDouble()));
            }
        }
        return profile;
    }

    [Fact]
    public void Stored_bytes_are_at_most_a_quarter_of_gzipped_input_for_a_steady_stream()
    {
        var (stored, gzip, samples) = Measure(copies: 40, seed: 7);
        var ratio = (double)stored / gzip;
        output.WriteLine($"40 pushes per fixture: stored {stored} B, gzipped pprof {gzip} B, ratio {ratio:P1}, {(double)stored / samples:F2} B per input sample");
        Assert.True(ratio <= 0.25, $"stored {stored} B is {ratio:P1} of {gzip} gzipped bytes");
    }

    [Fact]
    public void Single_copies_report_their_ratio()
    {
        var (stored, gzip, samples) = Measure(copies: 1, seed: 7);
        output.WriteLine($"1 push per fixture: stored {stored} B, gzipped pprof {gzip} B, ratio {(double)stored / gzip:P1}, {(double)stored / samples:F2} B per input sample");
        // One profile per series has nothing to deduplicate against; the block must still not be bigger than the input.
        Assert.True(stored < gzip, $"stored {stored} B vs {gzip} gzipped bytes");
    }
}
