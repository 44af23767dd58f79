namespace Pyroscope.Profiler.Tests;

internal static class WorkloadAssertions
{
    public const string Hot = "Workload.HotMethod";
    public const string Light = "Workload.LightMethod";
    public const double ExpectedHotShare = 0.75; // the workload alternates 30 ms hot / 10 ms light

    /// <summary>
    /// The hot method is the biggest child of the workload loop, with its expected share within what sampling allows:
    /// EventPipe samples a thread every millisecond, so n ms of the loop's CPU give a share whose standard error is
    /// √(p(1−p)/n) (4 of them allowed), plus 5 % because the phases are timed by the wall clock, and a preemption
    /// inside one phase moves CPU to the other on a loaded machine.
    /// </summary>
    public static void HotMethodDominates(PprofStacks cpu)
    {
        var children = cpu.ChildTotals("Workload.Run");
        Assert.True(children.ContainsKey(Hot), "no HotMethod under Workload.Run: " + string.Join(", ", children.Keys));
        Assert.True(children.ContainsKey(Light), "no LightMethod under Workload.Run: " + string.Join(", ", children.Keys));
        var top = children.MaxBy(c => c.Value);
        Assert.Equal(Hot, top.Key);
        var share = (double)children[Hot] / (children[Hot] + children[Light]);
        var sampledMilliseconds = Math.Max(1.0, (children[Hot] + children[Light]) / 1e6);
        var tolerance = 0.05 + 4 * Math.Sqrt(ExpectedHotShare * (1 - ExpectedHotShare) / sampledMilliseconds);
        Assert.True(Math.Abs(share - ExpectedHotShare) <= tolerance,
            $"hot share {share:F3} of {sampledMilliseconds:F0} ms sampled, expected {ExpectedHotShare} ± {tolerance:F3}");
        // And in the whole process, no other application frame outweighs it.
        Assert.True(cpu.TotalOf(Hot) * 2 > cpu.TotalOf("Workload.Run"), "HotMethod is not the bulk of the workload");
    }
}
