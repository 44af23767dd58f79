namespace Pyroscope.Profiler.Tests;

internal static class WorkloadAssertions
{
    public const string Hot = "Workload.HotMethod";
    public const string Light = "Workload.LightMethod";
    public const double ExpectedHotShare = 0.75; // the workload alternates 30 ms hot / 10 ms light

    /// <summary>
    /// dotnet-trace's thread-time sampler stops the runtime for every sample and calls a thread "on cpu" by where that
    /// suspension found it (managed code or not), so its split follows safepoint placement and the scheduler, not only
    /// CPU time: under a loaded CI host it measured 0.644 and 0.860 for the workload's 0.75. A converter that put
    /// samples under the wrong method still falls far outside the band (swapped methods read 0.25).
    /// </summary>
    public const double DotnetTraceSamplerBias = 0.12;

    /// <summary>
    /// The hot method is the biggest child of the workload loop, with its expected share within what sampling allows:
    /// EventPipe samples a thread every millisecond, so n ms of the loop's CPU give a share whose standard error is
    /// √(p(1−p)/n) (4 of them allowed), plus 5 % because the phases are timed by the wall clock, and a preemption
    /// inside one phase moves CPU to the other on a loaded machine. <paramref name="samplerBias"/> widens the band for
    /// samplers whose split depends on more than the workload (see <see cref="DotnetTraceSamplerBias"/>).
    /// </summary>
    public static void HotMethodDominates(PprofStacks cpu, double samplerBias = 0)
    {
        var children = cpu.ChildTotals("Workload.Run");
        Assert.True(children.ContainsKey(Hot), "no HotMethod under Workload.Run: " + string.Join(", ", children.Keys));
        Assert.True(children.ContainsKey(Light), "no LightMethod under Workload.Run: " + string.Join(", ", children.Keys));
        var top = children.MaxBy(c => c.Value);
        Assert.Equal(Hot, top.Key);
        var share = (double)children[Hot] / (children[Hot] + children[Light]);
        var sampledMilliseconds = Math.Max(1.0, (children[Hot] + children[Light]) / 1e6);
        var tolerance = 0.05 + samplerBias + 4 * Math.Sqrt(ExpectedHotShare * (1 - ExpectedHotShare) / sampledMilliseconds);
        Assert.True(Math.Abs(share - ExpectedHotShare) <= tolerance,
            $"hot share {share:F3} of {sampledMilliseconds:F0} ms sampled, expected {ExpectedHotShare} ± {tolerance:F3}");
        // And in the whole process, no other application frame outweighs it.
        Assert.True(cpu.TotalOf(Hot) * 2 > cpu.TotalOf("Workload.Run"), "HotMethod is not the bulk of the workload");
    }
}
