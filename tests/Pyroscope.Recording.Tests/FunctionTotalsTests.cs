using Pyroscope.Contracts.Google.V1;
using Pyroscope.Testing;

namespace Pyroscope.Recording.Tests;

/// <summary>
/// Function totals on real profiles against a count made here from the decoded stacks: every function of the
/// profile at once, so names fall in several 64-name chunks and recursion (a name twice in one stack) is common.
/// </summary>
public class FunctionTotalsTests
{
    [Theory]
    [InlineData("go/go-cpu.pb.gz")]
    [InlineData("upstream/og_convert_pprof__nodejs-wall.pb.gz")]
    public void Every_functions_total_counts_each_sample_containing_it_once(string fixture)
    {
        var profile = PprofFixtures.LoadPprof(fixture);
        var counted = IndependentTotals(profile);
        var expected = new Dictionary<string, long>(StringComparer.Ordinal);
        var slots = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var function in profile.Function)
        {
            var name = profile.StringTable[(int)function.Name];
            if (slots.TryAdd(name, slots.Count))
            {
                expected[name] = counted.GetValueOrDefault(name);
            }
        }
        slots["no.such.function"] = slots.Count;
        Assert.True(slots.Count > 64, $"{fixture} has {slots.Count} functions: too few to cross a chunk");

        var totals = FunctionTotals.Compute(profile, slots);
        try
        {
            foreach (var (name, total) in expected)
            {
                Assert.True(total == totals[slots[name]], $"{name}: expected {total}, computed {totals[slots[name]]}");
            }
            Assert.Equal(0, totals[slots["no.such.function"]]);
        }
        finally
        {
            System.Buffers.ArrayPool<long>.Shared.Return(totals);
        }
    }

    [Fact]
    public void A_profile_with_recursion_counts_a_recursive_sample_once()
    {
        var profile = PprofFixtures.LoadPprof("go/go-cpu.pb.gz");
        var recursive = PprofFixtures.Stacks(profile, 0)
            .First(s => s.Stack.Length != s.Stack.Distinct().Count()).Stack
            .GroupBy(f => f).First(g => g.Count() > 1).Key;
        var slots = new Dictionary<string, int> { [recursive] = 0 };
        var totals = FunctionTotals.Compute(profile, slots);
        Assert.Equal(IndependentTotals(profile)[recursive], totals[0]);
        System.Buffers.ArrayPool<long>.Shared.Return(totals);
    }

    [Fact]
    public void No_profile_or_no_samples_is_zero()
    {
        var slots = new Dictionary<string, int> { ["main"] = 0 };
        var none = FunctionTotals.Compute(null, slots);
        Assert.Equal(0, none[0]);
        System.Buffers.ArrayPool<long>.Shared.Return(none);
        var empty = FunctionTotals.Compute(new Profile(), slots);
        Assert.Equal(0, empty[0]);
        System.Buffers.ArrayPool<long>.Shared.Return(empty);
    }

    private static Dictionary<string, long> IndependentTotals(Profile profile)
    {
        var totals = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (stack, value) in PprofFixtures.Stacks(profile, 0))
        {
            foreach (var name in stack.ToHashSet())
            {
                totals[name] = totals.GetValueOrDefault(name) + value;
            }
        }
        return totals;
    }
}
