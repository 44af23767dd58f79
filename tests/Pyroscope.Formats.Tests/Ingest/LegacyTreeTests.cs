using System.Diagnostics;
using System.Web;
using Pyroscope.Contracts.Google.V1;
using Pyroscope.Formats.Ingest;
using Pyroscope.Formats.Legacy;
using Pyroscope.Formats.Normalization;
using Pyroscope.Model;
using Pyroscope.Testing;
using static Pyroscope.Formats.Tests.Ingest.FixtureSupport;

namespace Pyroscope.Formats.Tests.Ingest;

/// <summary>
/// format=trie / format=tree bodies written by an independent encoder (<see cref="LegacyTreeEncoder"/>) from the
/// real folded fixture must decode to exactly the fixture's stacks and values, scaled like folded input.
/// </summary>
public sealed class LegacyTreeTests
{
    private const long Now = 1_800_000_000_000_000_000;
    private const string Query = "name=legacy.app.cpu{env=prod}&from=1700000000&until=1700000010&sampleRate=100&spyName=gospy";

    private static readonly Dictionary<string, long> FixtureStacks =
        LegacyTreeEncoder.ParseFolded(File.ReadAllText(PathOf("folded/go-cpu-nanoseconds.folded")));

    private static IngestMetadata Metadata(string query)
    {
        var parsed = HttpUtility.ParseQueryString(query);
        return IngestMetadata.Parse(name => parsed[name], Now);
    }

    private static IngestedProfile DecodeSingle(string query, string? contentType, byte[] body) =>
        Assert.Single(IngestFormatRegistry.BuiltIn.Decode(Metadata(query), contentType, body));

    /// <summary>Stacks of the decoded profile, root first, without the "cpu|" prefix of StackTotals.</summary>
    private static Dictionary<string, long> Stacks(Profile profile) =>
        StackTotals(profile).ToDictionary(kv => kv.Key[(kv.Key.IndexOf('|') + 1)..], kv => kv.Value);

    private static Dictionary<string, long> Scaled(Dictionary<string, long> stacks, long factor) =>
        stacks.ToDictionary(kv => kv.Key, kv => kv.Value * factor);

    public static TheoryData<string, string?> Encodings => new()
    {
        { "format=trie", null },
        { "format=tree", null },
        { "", TrieIngestFormat.ContentType },
        { "", TreeIngestFormat.ContentType },
    };

    [Theory]
    [MemberData(nameof(Encodings))]
    public void Fixture_stacks_survive_trie_and_tree_exactly(string format, string? contentType)
    {
        var trie = format == "format=trie" || contentType == TrieIngestFormat.ContentType;
        var body = trie ? LegacyTreeEncoder.Trie(FixtureStacks) : LegacyTreeEncoder.Tree(FixtureStacks);

        var decoded = DecodeSingle(Query + (format.Length > 0 ? "&" + format : ""), contentType, body);

        // sampleRate=100: every sample is 10 ms of CPU, as for folded bodies.
        var expected = Scaled(FixtureStacks, 10_000_000);
        Assert.Equal(expected.OrderBy(k => k.Key), Stacks(decoded.Profile).OrderBy(k => k.Key));
        Assert.Equal("cpu", decoded.Profile.StringTable[(int)decoded.Profile.SampleType[0].Type]);
        Assert.Equal("nanoseconds", decoded.Profile.StringTable[(int)decoded.Profile.SampleType[0].Unit]);
        Assert.Equal(10_000_000, decoded.Profile.Period);
        var labels = decoded.Labels.ToDictionary(l => l.Name, l => l.Value);
        Assert.Equal("process_cpu", labels[LabelNames.MetricName]);
        Assert.Equal("legacy.app", labels[LabelNames.ServiceName]);
        Assert.Equal("prod", labels["env"]);
        Assert.Equal("gospy", labels[LabelNames.Spy]);
    }

    [Fact]
    public void Trie_and_tree_decode_to_what_the_folded_decoder_produces()
    {
        var folded = File.ReadAllBytes(PathOf("folded/go-cpu-nanoseconds.folded"));
        var fromFolded = Stacks(DecodeSingle(Query, null, folded).Profile);
        Assert.Equal(fromFolded.OrderBy(k => k.Key), Stacks(DecodeSingle(Query + "&format=trie", null, LegacyTreeEncoder.Trie(FixtureStacks)).Profile).OrderBy(k => k.Key));
        Assert.Equal(fromFolded.OrderBy(k => k.Key), Stacks(DecodeSingle(Query + "&format=tree", null, LegacyTreeEncoder.Tree(FixtureStacks)).Profile).OrderBy(k => k.Key));
    }

    [Fact]
    public void Memory_type_keeps_raw_values_and_normalises_into_one_series()
    {
        var body = LegacyTreeEncoder.Tree(FixtureStacks);
        var md = Metadata("name=legacy.app.inuse_space&from=1700000000&until=1700000010&format=tree");
        var decoded = Assert.Single(IngestFormatRegistry.BuiltIn.Decode(md, null, body));
        Assert.Equal(FixtureStacks.OrderBy(k => k.Key), Stacks(decoded.Profile).OrderBy(k => k.Key));

        var series = Assert.Single(ProfileNormalizer.Normalize(decoded.Profile, decoded.Labels, TenantLimits.Unlimited, new NormalizeContext(Now, md.FromNanos, 0)));
        Assert.StartsWith("memory:inuse_space:bytes", Label(series, LabelNames.ProfileType));
        Assert.Equal(FixtureStacks.Values.Sum(), series.Profile.Sample.Sum(s => s.Value[0]));
    }

    [Theory]
    [InlineData("trie")]
    [InlineData("tree")]
    public void Folded_limits_apply_sample_count_refused_and_depth_cut_to_root_most_frames(string format)
    {
        var body = format == "trie" ? LegacyTreeEncoder.Trie(FixtureStacks) : LegacyTreeEncoder.Tree(FixtureStacks);
        var md = Metadata("name=legacy.app.alloc_objects&from=1700000000&until=1700000010&format=" + format);

        var tooMany = TenantLimits.Unlimited with { MaxProfileStacktraceSamples = FixtureStacks.Count - 1 };
        var decoded = Assert.Single(IngestFormatRegistry.BuiltIn.Decode(md, null, body));
        var refused = Assert.Throws<ProfileValidationException>(() => ProfileNormalizer.Normalize(decoded.Profile, decoded.Labels, tooMany, new NormalizeContext(Now, md.FromNanos, 0)));
        Assert.Equal(DiscardReasons.SamplesLimit, refused.Reason);

        const int depth = 3;
        decoded = Assert.Single(IngestFormatRegistry.BuiltIn.Decode(md, null, body));
        var series = Assert.Single(ProfileNormalizer.Normalize(decoded.Profile, decoded.Labels, TenantLimits.Unlimited with { MaxProfileStacktraceDepth = depth },
            new NormalizeContext(Now, md.FromNanos, 0)));
        var expected = FixtureStacks.GroupBy(kv => string.Join(';', kv.Key.Split(';').Take(depth))).ToDictionary(g => g.Key, g => g.Sum(kv => kv.Value));
        Assert.Equal(expected.OrderBy(k => k.Key), Stacks(series.Profile).OrderBy(k => k.Key));
    }

    [Fact]
    public void Trie_keys_split_inside_frames_and_values_on_inner_nodes_are_kept()
    {
        // "a;b" is a prefix of "a;bc;d": the radix trie splits inside the frame name "bc", and "a;b" has its
        // value on an inner node.
        var stacks = new Dictionary<string, long> { ["a;b"] = 3, ["a;bc;d"] = 5, ["a;bc"] = 7, ["x"] = 1 };
        var decoded = LegacyTreeParser.ParseTrie(LegacyTreeEncoder.Trie(stacks), LegacyProfileType.FromAppName("app.inuse_objects"), 100, 0, 0);
        Assert.Equal(stacks.OrderBy(k => k.Key), Stacks(decoded).OrderBy(k => k.Key));
    }

    [Fact]
    public void Tree_root_self_is_dropped_like_upstream_and_empty_bodies_are_errors()
    {
        using var output = new MemoryStream();
        // root "" self=9 with one child "main" self=4
        foreach (var b in new byte[] { 0, 9, 1, 4, (byte)'m', (byte)'a', (byte)'i', (byte)'n', 4, 0 })
        {
            output.WriteByte(b);
        }
        var decoded = LegacyTreeParser.ParseTree(output.ToArray(), LegacyProfileType.FromAppName("app.alloc_objects"), 100, 0, 0);
        Assert.Equal(new Dictionary<string, long> { ["main"] = 4 }, Stacks(decoded));

        var error = Assert.Throws<ProfileFormatException>(() => DecodeSingle(Query + "&format=tree", null, []));
        Assert.Contains("tree", error.Message);
        Assert.Contains("byte offset 0", error.Message);
    }

    public static TheoryData<string, byte[], string> Malformed => new()
    {
        // name length 200 with 2 bytes left
        { "trie", [0xC8, 0x01, (byte)'a', (byte)'b'], "declares 200 bytes but only 2 remain" },
        // a varint that never ends
        { "tree", [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], "not a valid varint" },
        // root claims 2^62 children
        { "tree", [0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 0, 0, 0], "children at byte offset 2" },
        // cut after the root's value
        { "trie", [0, 5], "body ends inside the child count at byte offset 2" },
        // the child declares a child of its own with no bytes left for it
        { "tree", [0, 0, 1, 1, (byte)'a', 1, 1], "declares 1 children at byte offset 6 but only 0 bytes remain" },
        // cut inside the child
        { "tree", [0, 0, 1, 1, (byte)'a', 1], "body ends inside the child count at byte offset 6" },
        // invalid UTF-8 frame
        { "tree", [0, 0, 1, 2, 0xC3, 0x28, 1, 0], "byte offset 3 is not valid UTF-8" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_bodies_are_format_errors_naming_what_and_where(string format, byte[] body, string expected)
    {
        var error = Assert.Throws<ProfileFormatException>(() => DecodeSingle(Query + "&format=" + format, null, body));
        Assert.Contains(expected, error.Message);
        Assert.StartsWith(format + ":", error.Message);
    }

    [Theory]
    [InlineData("trie")]
    [InlineData("tree")]
    public void Every_truncation_and_corruption_is_a_clean_format_error_or_a_valid_profile(string format)
    {
        var body = format == "trie" ? LegacyTreeEncoder.Trie(FixtureStacks) : LegacyTreeEncoder.Tree(FixtureStacks);
        var type = LegacyProfileType.FromAppName("app.cpu");
        var random = new Random(1234);
        var watch = Stopwatch.StartNew();
        var failures = 0;
        void Attempt(byte[] candidate)
        {
            try
            {
                var profile = format == "trie" ? LegacyTreeParser.ParseTrie(candidate, type, 100, 0, 0) : LegacyTreeParser.ParseTree(candidate, type, 100, 0, 0);
                Assert.All(profile.Sample, s => Assert.True(s.Value[0] > 0));
            }
            catch (ProfileFormatException)
            {
                failures++;
            }
        }
        // Every prefix: a cut body either is a complete shorter tree (never, here) or names the truncation.
        for (var length = 0; length < body.Length; length += Math.Max(1, body.Length / 2000))
        {
            Attempt(body[..length]);
        }
        for (var i = 0; i < 3000; i++)
        {
            var corrupted = (byte[])body.Clone();
            for (var flips = random.Next(1, 4); flips > 0; flips--)
            {
                corrupted[random.Next(corrupted.Length)] = (byte)random.Next(256);
            }
            Attempt(corrupted);
        }
        Assert.True(failures > 0);
        // Generous bound for a 2-core CI box: the point is "no hang", not speed.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"took {watch.Elapsed}");
    }

    [Fact]
    public void Deep_nesting_is_refused_without_recursion()
    {
        // A chain of 100k one-frame nodes: each "1 'a' 0 1" (name, no samples, one child); the last has none.
        const int depth = 100_000;
        using var output = new MemoryStream();
        output.Write([0, 0, 1]);
        for (var i = 0; i < depth; i++)
        {
            output.Write([1, (byte)'a', (byte)(i == depth - 1 ? 1 : 0), (byte)(i == depth - 1 ? 0 : 1)]);
        }
        var error = Assert.Throws<ProfileFormatException>(() => DecodeSingle(Query + "&format=tree", null, output.ToArray()));
        Assert.Contains($"deeper than {LegacyTreeParser.MaxNesting}", error.Message);
    }

    [Fact]
    public void Long_trie_chains_hit_the_expansion_budget_instead_of_quadratic_work()
    {
        // Each node adds 64 key bytes and has a value, so every node emits its whole key: quadratic in the chain.
        const int nodes = 16_000;
        var name = new byte[64];
        Array.Fill(name, (byte)'x');
        using var output = new MemoryStream();
        for (var i = 0; i < nodes; i++)
        {
            output.WriteByte(64);
            output.Write(name);
            output.Write([1, (byte)(i == nodes - 1 ? 0 : 1)]);
        }
        var watch = Stopwatch.StartNew();
        var error = Assert.Throws<ProfileFormatException>(() => DecodeSingle(Query + "&format=trie", null, output.ToArray()));
        Assert.Contains("expand to more than", error.Message);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"took {watch.Elapsed}");
    }
}
