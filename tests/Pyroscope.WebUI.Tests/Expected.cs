namespace Pyroscope.WebUI.Tests;

/// <summary>Expected numbers computed straight from the fixture samples (no tree, no flamebearer).</summary>
public static class Expected
{
    public static List<StackSample> GoCpu { get; } = FixtureProfiles.Stacks(FixtureProfiles.Read("go/go-cpu.pb.gz"));
    public static int CpuNs { get; } = Array.IndexOf(FixtureProfiles.SampleTypes(FixtureProfiles.Read("go/go-cpu.pb.gz")), "cpu:nanoseconds");

    public static long Total(Func<StackSample, bool>? filter = null)
    {
        long total = 0;
        foreach (var s in GoCpu) if (filter is null || filter(s)) total += s.Values[CpuNs];
        return total;
    }

    /// <summary>The function with the most self time (leaf frames) and its value.</summary>
    public static (string Name, long Self) HottestSelf()
    {
        var self = new Dictionary<string, long>();
        foreach (var s in GoCpu)
            if (s.Frames.Length > 0) self[s.Frames[^1]] = self.GetValueOrDefault(s.Frames[^1]) + s.Values[CpuNs];
        var best = self.MaxBy(kv => kv.Value);
        return (best.Key, best.Value);
    }

    /// <summary>Total of a function: samples whose stack contains it (once per sample, whatever the recursion).</summary>
    public static long TotalOf(string function)
    {
        long total = 0;
        foreach (var s in GoCpu) if (Array.IndexOf(s.Frames, function) >= 0) total += s.Values[CpuNs];
        return total;
    }

    /// <summary>Formats a share the way the UI does (one decimal from 10 %, two below).</summary>
    public static string Percent(long part, long whole)
    {
        var p = 100.0 * part / whole;
        return (p >= 10 ? p.ToString("F1", System.Globalization.CultureInfo.InvariantCulture) : p.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)) + "%";
    }
}
