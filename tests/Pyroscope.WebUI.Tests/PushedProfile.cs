using Pyroscope.Contracts.Google.V1;

namespace Pyroscope.WebUI.Tests;

/// <summary>
/// One profile pushed on its own for the heatmap tests: go-cpu.pb.gz without its pprof labels, every sample value multiplied by
/// <see cref="Scale"/>, at a known time, under <c>pod</c>. <see cref="Total"/> is its cpu:nanoseconds sum,
/// decoded from the pushed bytes by the test's own reader.
/// </summary>
public sealed record PushedProfile(string Pod, long TimestampMs, double Scale, Profile Profile, long Total)
{
    /// <summary>
    /// Five profiles in an hour from <paramref name="fromMs"/> (30 s slots at 120 columns): totals ×1, ×2, ×3, ×3.05 and ×4
    /// of go-cpu, so the 20 value buckets (×1 to ×4) put ×3 and ×3.05 in one bucket. ×2, ×3 and ×3.05 share the slot
    /// (from + 20 min, from + 20 min 30 s]: one cell holds two profiles (both pod b) and one cell of that slot one.
    /// </summary>
    public static IReadOnlyList<PushedProfile> HeatmapSet(long fromMs) =>
    [
        Make("a", fromMs + 5 * 60_000 + 7_000, 1),
        Make("a", fromMs + 20 * 60_000 + 3_000, 2),
        Make("b", fromMs + 20 * 60_000 + 10_000, 3),
        Make("b", fromMs + 20 * 60_000 + 12_000, 3.05),
        Make("b", fromMs + 40 * 60_000 + 1_000, 4),
    ];

    private static PushedProfile Make(string pod, long timestampMs, double scale)
    {
        var profile = FixtureProfiles.Read("go/go-cpu.pb.gz");
        foreach (var sample in profile.Sample)
        {
            // The server stores each pprof label set of a push as a profile of its own (own series, own id): without
            // labels one push is one profile.
            sample.Label.Clear();
            for (var i = 0; i < sample.Value.Count; i++) sample.Value[i] = (long)Math.Round(sample.Value[i] * scale);
        }
        var cpu = Array.IndexOf(FixtureProfiles.SampleTypes(profile), "cpu:nanoseconds");
        long total = 0;
        foreach (var s in FixtureProfiles.Stacks(profile)) total += s.Values[cpu];
        return new PushedProfile(pod, timestampMs, scale, profile, total);
    }
}
