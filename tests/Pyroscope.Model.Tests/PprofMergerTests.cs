using System.IO.Compression;
using Google.Protobuf;
using Pyroscope.Contracts.Google.V1;
using Pyroscope.Model;
using Pyroscope.Model.Query;
using Pyroscope.Testing;

namespace Pyroscope.Model.Tests;

public sealed class PprofMergerTests
{
    private static Profile Load(string fixture)
    {
        using var gzip = new GZipStream(File.OpenRead(RepositoryPaths.Fixture(fixture)), CompressionMode.Decompress);
        return Profile.Parser.ParseFrom(gzip);
    }

    private static Profile RoundTrip(Profile profile) => Profile.Parser.ParseFrom(profile.ToByteArray());

    [Fact]
    public void The_same_profile_merged_twice_sums_samples_and_keeps_one_copy_of_each_symbol()
    {
        var input = Load("go/go-cpu.pb.gz");
        var merger = new PprofMerger();
        merger.Add(input);
        merger.Add(input.Clone());

        var output = RoundTrip(merger.ToProfile());

        var expected = new PprofSymbols(input);
        var actual = new PprofSymbols(output);
        var cumulative = actual.CumulativeByLine(0);
        foreach (var (line, value) in expected.CumulativeByLine(0))
        {
            Assert.Equal(2 * value, cumulative[line]);
        }
        var (functions, locations, stacks) = expected.DistinctUsedSymbols(0);
        Assert.Equal(functions, output.Function.Count);
        Assert.Equal(locations, output.Location.Count);
        Assert.Equal(stacks, output.Sample.Count);
        Assert.Equal(expected.UsedMappings(0), actual.UsedMappings(0));
    }

    [Fact]
    public void Type_and_range_set_the_header()
    {
        var merger = new PprofMerger();
        merger.Add(Load("go/go-cpu.pb.gz"));
        var type = new ProfileTypeId("process_cpu", "cpu", "nanoseconds", "cpu", "nanoseconds");

        var output = merger.ToProfile(type, new TimeRange(1_000, 61_000));

        Assert.Equal("cpu", output.StringTable[(int)output.SampleType[0].Type]);
        Assert.Equal("nanoseconds", output.StringTable[(int)output.SampleType[0].Unit]);
        Assert.Equal("cpu", output.StringTable[(int)output.PeriodType.Type]);
        Assert.Equal(1_000_000_000, output.TimeNanos);
        Assert.Equal(60_000_000_000, output.DurationNanos);
    }

    [Fact]
    public void Max_nodes_keeps_the_heaviest_call_tree_nodes_and_the_total()
    {
        var input = Load("go/go-cpu.pb.gz");
        var merger = new PprofMerger();
        merger.Add(input);
        var inputStacks = FunctionStacks(new PprofSymbols(input).FrameStacks(0));
        var inputTree = CallTree(inputStacks);
        Assert.True(inputTree.Count > 40, "the fixture needs a call tree worth truncating");
        const int maxNodes = 20;
        var threshold = inputTree.Values.OrderDescending().ElementAt(maxNodes - 1);

        var truncated = new PprofSymbols(RoundTrip(merger.ToProfile(maxNodes: maxNodes)));
        var untouched = new PprofSymbols(RoundTrip(merger.ToProfile(maxNodes: inputTree.Count + 1)));

        Assert.Equal(new PprofSymbols(input).Total(0), truncated.Total(0));
        Assert.Equal(new PprofSymbols(input).CumulativeByLine(0), untouched.CumulativeByLine(0));
        var outputStacks = FunctionStacks(truncated.FrameStacks(0));
        Assert.Contains(outputStacks, s => s.RootFirst[^1] == "other");
        // Every node left (outside "other") is an input node at least as heavy as the maxNodes-th heaviest.
        var kept = CallTree(outputStacks.Select(s => (s.RootFirst[^1] == "other" ? s.RootFirst[..^1] : s.RootFirst, s.Value)).ToList());
        Assert.True(kept.Count <= maxNodes, $"{kept.Count} nodes kept");
        Assert.All(kept.Keys, k => Assert.True(inputTree.TryGetValue(k, out var total) && total >= threshold, k));
        // Stacks made only of heavy nodes come out whole.
        var whole = inputStacks.Where(s => Enumerable.Range(1, s.RootFirst.Length).All(d => inputTree[string.Join('\n', s.RootFirst.Take(d))] >= threshold)).ToList();
        Assert.NotEmpty(whole);
        foreach (var group in whole.GroupBy(s => string.Join('\n', s.RootFirst)))
        {
            Assert.Equal(group.Sum(s => s.Value), outputStacks.Where(s => string.Join('\n', s.RootFirst) == group.Key).Sum(s => s.Value));
        }
    }

    [Fact]
    public void Call_site_keeps_only_stacks_under_it()
    {
        var input = Load("go/go-cpu.pb.gz");
        var merger = new PprofMerger();
        merger.Add(input);
        var stacks = new PprofSymbols(input).FrameStacks(0);
        var heaviest = stacks.MaxBy(s => s.Value).RootFirst;
        var callSite = heaviest.Take(2).Select(FunctionOf).ToArray();
        var expected = stacks.Where(s => s.RootFirst.Length >= 2 && s.RootFirst.Take(2).Select(FunctionOf).SequenceEqual(callSite)).Sum(s => s.Value);

        var output = new PprofSymbols(RoundTrip(merger.ToProfile(callSite: callSite)));

        Assert.True(expected > 0 && expected < new PprofSymbols(input).Total(0), "the call site must select a strict subset");
        Assert.Equal(expected, output.Total(0));
        Assert.Equal(0, new PprofSymbols(RoundTrip(merger.ToProfile(callSite: ["no.such.function"]))).Total(0));
    }

    [Fact]
    public void A_profile_referring_to_unknown_ids_is_refused_by_name()
    {
        var profile = new Profile { StringTable = { "" } };
        profile.Location.Add(new Location { Id = 1, Line = { new Line { FunctionId = 9 } } });
        var e = Assert.Throws<InvalidDataException>(() => new PprofMerger().Add(profile));
        Assert.Contains("function id 9", e.Message);
    }

    [Fact]
    public void A_sample_with_a_location_id_the_merger_did_not_hand_out_is_refused()
    {
        var merger = new PprofMerger();
        merger.BeginLocation();
        var location = merger.EndLocation(0, 0x1000);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => merger.AddSample([location, location + 1], 5));
        Assert.Contains($"location id {location + 1}", e.Message);
        merger.AddSample([location], 5);
        Assert.Equal(1, merger.SampleCount);
        Assert.Single(merger.ToProfile().Sample[0].LocationId);
    }

    private static string FunctionOf(string frame) => frame[..frame.IndexOf(' ')];

    /// <summary>Frames reduced to their function (name and file): upstream truncates a call tree of functions.</summary>
    private static List<(string[] RootFirst, long Value)> FunctionStacks(List<(string[] RootFirst, long Value)> stacks) =>
        stacks.Select(s => (s.RootFirst.Select(f => f == "other :0" ? "other" : f[..f.LastIndexOf(':')]).ToArray(), s.Value)).ToList();

    /// <summary>Node total per root-first prefix ("frame\nframe...").</summary>
    private static Dictionary<string, long> CallTree(List<(string[] RootFirst, long Value)> stacks)
    {
        var totals = new Dictionary<string, long>();
        foreach (var (frames, value) in stacks)
        {
            for (var d = 1; d <= frames.Length; d++)
            {
                var key = string.Join('\n', frames.Take(d));
                totals[key] = totals.GetValueOrDefault(key) + value;
            }
        }
        return totals;
    }
}
