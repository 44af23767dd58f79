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
    public static (string Name, long Self) HottestSelf() => HottestSelf(GoCpu, CpuNs);

    public static (string Name, long Self) HottestSelf(List<StackSample> samples, int column)
    {
        var self = new Dictionary<string, long>();
        foreach (var s in samples)
            if (s.Frames.Length > 0) self[s.Frames[^1]] = self.GetValueOrDefault(s.Frames[^1]) + s.Values[column];
        var best = self.MaxBy(kv => kv.Value);
        return (best.Key, best.Value);
    }

    /// <summary>A fixture's samples and the index of its cpu:nanoseconds value.</summary>
    public static (List<StackSample> Samples, int Cpu) CpuFixture(string fixture)
    {
        var profile = FixtureProfiles.Read(fixture);
        return (FixtureProfiles.Stacks(profile), Array.IndexOf(FixtureProfiles.SampleTypes(profile), "cpu:nanoseconds"));
    }

    /// <summary>
    /// Immediate neighbours of a function's outermost frame in each stack, with the value of the stacks
    /// through them: <paramref name="offset"/> −1 gives callers, +1 callees.
    /// </summary>
    public static Dictionary<string, long> NeighboursOf(string function, int offset)
    {
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var s in GoCpu)
        {
            var at = Array.IndexOf(s.Frames, function);
            if (at < 0 || at + offset < 0 || at + offset >= s.Frames.Length) continue;
            var n = s.Frames[at + offset];
            result[n] = result.GetValueOrDefault(n) + s.Values[CpuNs];
        }
        return result;
    }

    /// <summary>True when the function appears more than once in some stack.</summary>
    public static bool IsRecursive(string function)
    {
        foreach (var s in GoCpu)
            if (Array.IndexOf(s.Frames, function) != Array.LastIndexOf(s.Frames, function)) return true;
        return false;
    }

    /// <summary>Sum of the values of every frame of the function (what a per-frame count would give).</summary>
    public static long FrameSumOf(string function)
    {
        long sum = 0;
        foreach (var s in GoCpu)
            foreach (var f in s.Frames)
                if (f == function) sum += s.Values[CpuNs];
        return sum;
    }

    public static IEnumerable<string> Functions() => GoCpu.SelectMany(s => s.Frames).Distinct(StringComparer.Ordinal);

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
