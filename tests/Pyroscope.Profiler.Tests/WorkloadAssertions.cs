namespace Pyroscope.Profiler.Tests;

internal static class WorkloadAssertions
{
    public const string Hot = "Workload.HotMethod";
    public const string Light = "Workload.LightMethod";
    public const double ExpectedHotShare = 0.75; // the workload alternates 30 ms hot / 10 ms light

    /// <summary>The hot method is the biggest child of the workload loop, with its expected share ±10 %.</summary>
    public static void HotMethodDominates(PprofStacks cpu)
    {
        var children = cpu.ChildTotals("Workload.Run");
        Assert.True(children.ContainsKey(Hot), "no HotMethod under Workload.Run: " + string.Join(", ", children.Keys));
        Assert.True(children.ContainsKey(Light), "no LightMethod under Workload.Run: " + string.Join(", ", children.Keys));
        var top = children.MaxBy(c => c.Value);
        Assert.Equal(Hot, top.Key);
        var share = (double)children[Hot] / (children[Hot] + children[Light]);
        Assert.InRange(share, ExpectedHotShare - 0.10, ExpectedHotShare + 0.10);
        // And in the whole process, no other application frame outweighs it.
        Assert.True(cpu.TotalOf(Hot) * 2 > cpu.TotalOf("Workload.Run"), "HotMethod is not the bulk of the workload");
    }
}
