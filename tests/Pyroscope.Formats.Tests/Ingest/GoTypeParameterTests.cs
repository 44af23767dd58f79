using Pyroscope.Contracts.Google.V1;
using Pyroscope.Formats.Normalization;
using Pyroscope.Formats.Pprof;
using Pyroscope.Model;
using static Pyroscope.Formats.Tests.Ingest.FixtureSupport;

namespace Pyroscope.Formats.Tests.Ingest;

public sealed class GoTypeParameterTests
{
    [Theory]
    // the shape becomes [...]
    [InlineData("sync/atomic.(*Pointer[go.shape.int]).Load", "sync/atomic.(*Pointer[...]).Load")]
    // greedy like upstream's regexp: nested brackets inside the shape are swallowed up to the last ']'
    [InlineData("pkg.F[go.shape.struct { a [2]int; b []string }].func1", "pkg.F[...].func1")]
    [InlineData("unique.addUniqueMap[go.shape.struct { net/netip.isV6 bool }].func1", "unique.addUniqueMap[...].func1")]
    // two shapes: everything from the first to the last bracket goes, as the greedy expression does
    [InlineData("pkg.Map[go.shape.int,go.shape.string].Get[go.shape.bool]", "pkg.Map[...]")]
    // already elided, ordinary type arguments, no brackets, no closing bracket: unchanged
    [InlineData("pkg.F[...].func1", "pkg.F[...].func1")]
    [InlineData("pkg.F[int]", "pkg.F[int]")]
    [InlineData("main.main", "main.main")]
    [InlineData("pkg.F[go.shape.int", "pkg.F[go.shape.int")]
    [InlineData("", "")]
    public void Names_are_rewritten_as_upstream(string input, string expected)
    {
        Assert.Equal(expected, GoTypeParameterFix.DropTypeParameters(input));
    }

    [Fact]
    public void Unchanged_names_are_the_same_instance()
    {
        var name = "main.work";
        Assert.Same(name, GoTypeParameterFix.DropTypeParameters(name));
    }

    /// <summary>
    /// The real Go CPU profile, with one hot function split in two as Go 1.21 reports generics: half its
    /// locations renamed to a second function with another shape. Returns the profile and the plain name.
    /// </summary>
    private static (Profile Profile, string Generic) WithTypeParameters()
    {
        var profile = DecodeIndependently(Read("go/go-cpu.pb.gz"));
        // The function on most locations of sampled stacks, so the split affects many samples.
        var useCount = profile.Sample.SelectMany(s => s.LocationId).Distinct()
            .Select(id => profile.Location.Single(l => l.Id == id))
            .Where(l => l.Line.Count == 1)
            .GroupBy(l => l.Line[0].FunctionId)
            .OrderByDescending(g => profile.Sample.Count(s => s.LocationId.Any(id => g.Any(l => l.Id == id))))
            .First();
        var function = profile.Function.Single(f => f.Id == useCount.Key);
        var plain = profile.StringTable[(int)function.Name];
        profile.StringTable.Add(plain + "[go.shape.int]");
        function.Name = profile.StringTable.Count - 1;
        profile.StringTable.Add(plain + "[go.shape.string]");
        var twin = new Function(function) { Id = profile.Function.Max(f => f.Id) + 1, Name = profile.StringTable.Count - 1 };
        profile.Function.Add(twin);

        // Each location of the function gets a twin (same address, other shape); every second sample uses it.
        var nextLocation = profile.Location.Max(l => l.Id) + 1;
        var twins = new Dictionary<ulong, ulong>();
        foreach (var location in useCount)
        {
            var copy = new Location(location) { Id = nextLocation++ };
            copy.Line[0].FunctionId = twin.Id;
            profile.Location.Add(copy);
            twins[location.Id] = copy.Id;
        }
        var flip = false;
        foreach (var sample in profile.Sample)
        {
            if (!sample.LocationId.Any(twins.ContainsKey))
            {
                continue;
            }
            flip = !flip;
            if (flip)
            {
                for (var i = 0; i < sample.LocationId.Count; i++)
                {
                    if (twins.TryGetValue(sample.LocationId[i], out var t))
                    {
                        sample.LocationId[i] = t;
                    }
                }
            }
        }
        return (profile, plain + "[...]");
    }

    private static List<Contracts.Ingester.V1.ProfileSeries> Normalize(Profile profile, string spy) =>
        ProfileNormalizer.Normalize(profile, [new(LabelNames.MetricName, "process_cpu"), new(LabelNames.ServiceName, "svc"), new(LabelNames.Spy, spy)],
            TenantLimits.Unlimited, new NormalizeContext(1, 1, 0));

    [Fact]
    public void Go_profile_with_shapes_merges_back_to_one_function_keeping_totals()
    {
        var (profile, generic) = WithTypeParameters();
        var original = DecodeIndependently(Read("go/go-cpu.pb.gz"));
        var originalTotals = TotalsByType(original);
        // Expected stacks: the original ones with the hot function renamed to its elided form.
        var (renamed, _) = WithTypeParameters();
        var expectedStacks = StackTotals(renamed).GroupBy(kv => kv.Key.Replace("[go.shape.int]", "[...]").Replace("[go.shape.string]", "[...]"))
            .ToDictionary(g => g.Key, g => g.Sum(kv => kv.Value));
        Assert.Contains(expectedStacks.Keys, k => k.Contains(generic, StringComparison.Ordinal));
        var locationsBefore = profile.Location.Count;
        var functionsBefore = profile.Function.Count;

        var series = Normalize(profile, "gospy");

        Assert.Equal(originalTotals.Where(kv => kv.Value != 0).OrderBy(k => k.Key), Merge(series.Select(s => TotalsByType(s.Profile))).OrderBy(k => k.Key));
        Assert.Equal(expectedStacks.OrderBy(k => k.Key), Merge(series.Select(s => StackTotals(s.Profile))).OrderBy(k => k.Key));
        foreach (var s in series)
        {
            var names = s.Profile.Function.Select(f => s.Profile.StringTable[(int)f.Name]).ToList();
            Assert.DoesNotContain(names, n => n.Contains("[go.shape.", StringComparison.Ordinal));
            Assert.Single(names, n => n == generic);
            Assert.Equal(functionsBefore - 1, s.Profile.Function.Count);
            Assert.True(s.Profile.Location.Count < locationsBefore);
            // Identical stacks merged: no two samples share a stack.
            Assert.Equal(s.Profile.Sample.Count, s.Profile.Sample.Select(x => string.Join(',', x.LocationId)).Distinct().Count());
        }
        // The split stacks are whole again: as many samples as the unsplit profile has distinct stacks.
        var originalCpu = Normalize(DecodeIndependently(Read("go/go-cpu.pb.gz")), "gospy");
        Assert.Equal(originalCpu.Sum(s => s.Profile.Sample.Count), series.Sum(s => s.Profile.Sample.Count));
    }

    [Fact]
    public void Profiles_of_other_languages_keep_their_names()
    {
        var (profile, _) = WithTypeParameters();
        var series = Normalize(profile, "pyspy");
        Assert.Contains(series[0].Profile.Function, f => series[0].Profile.StringTable[(int)f.Name].Contains("[go.shape.int]", StringComparison.Ordinal));
    }

    [Fact]
    public void Without_a_known_spy_go_source_files_identify_a_go_profile()
    {
        var (profile, generic) = WithTypeParameters();
        Assert.True(GoTypeParameterFix.AppliesTo("unknown", Pyroscope.Formats.Pprof.PprofReader.FromMessage(profile)));
        Assert.True(GoTypeParameterFix.AppliesTo(null, Pyroscope.Formats.Pprof.PprofReader.FromMessage(profile)));
        Assert.False(GoTypeParameterFix.AppliesTo("rbspy", Pyroscope.Formats.Pprof.PprofReader.FromMessage(profile)));
        var series = Normalize(profile, "unknown");
        Assert.Contains(series[0].Profile.Function, f => series[0].Profile.StringTable[(int)f.Name] == generic);

        var java = DecodeIndependently(Read("upstream/pprof__profile_java"));
        Assert.False(GoTypeParameterFix.AppliesTo("unknown", Pyroscope.Formats.Pprof.PprofReader.FromMessage(java)));
    }
}
