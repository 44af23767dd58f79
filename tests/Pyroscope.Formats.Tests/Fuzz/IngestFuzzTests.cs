using System.Text;
using Pyroscope.Contracts.Google.V1;
using Pyroscope.Formats.Ingest;
using Pyroscope.Formats.Normalization;
using Pyroscope.Model;
using Pyroscope.Testing;
using Pyroscope.Testing.Fuzzing;
using static Pyroscope.Formats.Tests.Ingest.FixtureSupport;

namespace Pyroscope.Formats.Tests.Fuzz;

/// <summary>
/// One fuzz test per ingest format, in process for volume: real fixtures mutated (structure-aware for pprof
/// and JSON, line-aware for text, byte-level for binary formats), decoded through the format registry and
/// normalised with the default limits. The only acceptable failures are the client errors the endpoint turns
/// into 4xx (<see cref="ProfileFormatException"/>, <see cref="ProfileValidationException"/>); anything else
/// (an index or cast exception, a hang) is a 5xx waiting to happen. Counts: see <see cref="FuzzSettings"/>.
/// </summary>
public sealed class IngestFuzzTests
{
    private const long Now = 1_700_000_005_000_000_000;
    private const int CiCases = 2000;

    private static readonly TenantLimits Limits = TenantLimits.Defaults with { RejectOlderThan = TimeSpan.Zero, RejectNewerThan = TimeSpan.Zero };

    private static readonly Lazy<Profile[]> PprofSeeds = new(() =>
    [
        DecodeIndependently(Read("go/go-cpu.pb.gz")),
        DecodeIndependently(Read("go/go-heap.pb.gz")),
        DecodeIndependently(Read("nodejs/nodejs-001.pb.gz")),
        DecodeIndependently(Read("upstream/og_convert_pprof__dotnet-pprof-3.pb.gz")),
        DecodeIndependently(Read("upstream/og_convert_pprof__pyspy-1.pb.gz")),
        DecodeIndependently(Read("datadog/ddpprof-wall-cpu.pb.gz")),
    ]);

    private static readonly string[] Spies = ["gospy", "dotnetspy", "pyspy", "rbspy", "nodespy", "unknown", "javaspy"];

    [Fact]
    public Task Pprof_raw_and_gzip() => RunAsync(nameof(Pprof_raw_and_gzip), random =>
    {
        var seed = PprofSeeds.Value[random.Next(PprofSeeds.Value.Length)];
        return ($"name=app{{env=fuzz}}&format=pprof&spyName={Spies[random.Next(Spies.Length)]}", null, PprofMutator.Mutate(seed, random, gzip: random.Next(2) == 0));
    });

    [Fact]
    public Task Pprof_multipart_form_with_sample_type_config() => RunAsync(nameof(Pprof_multipart_form_with_sample_type_config), random =>
    {
        var seed = PprofSeeds.Value[random.Next(PprofSeeds.Value.Length)];
        const string config = """{"inuse_space":{"units":"bytes","aggregation":"average","display-name":"inuse_space_bytes"},"cpu":{"units":"samples","sampled":true}}""";
        var parts = new List<(string, byte[])> { ("profile", PprofMutator.Mutate(seed, random, gzip: true)) };
        if (random.Next(4) > 0)
        {
            parts.Add(("sample_type_config", JsonMutator.Mutate(config, random)));
        }
        if (random.Next(10) == 0)
        {
            parts.Add(("prev_profile", [1]));
        }
        var (contentType, body) = Multipart(parts);
        if (random.Next(5) == 0)
        {
            body = ByteMutator.Mutate(body, random);
        }
        return ($"name=app&spyName={Spies[random.Next(Spies.Length)]}", contentType, body);
    });

    [Fact]
    public Task Jfr_raw_and_multipart_with_labels() => RunAsync(nameof(Jfr_raw_and_multipart_with_labels), random =>
    {
        var jfr = random.Next(2) == 0 ? Read("jfr/jdk17-cpu-alloc.jfr") : Read("upstream/og_convert_jfr__dump1.jfr.gz");
        var mutated = ByteMutator.Mutate(jfr, random);
        if (random.Next(2) == 0)
        {
            return ("name=javaapp&format=jfr&spyName=javaspy&from=1700000000&until=1700000010", "application/octet-stream", mutated);
        }
        var labels = ByteMutator.Mutate(Read("upstream/og_convert_jfr__dump1.labels.pb.gz"), random);
        var (contentType, body) = Multipart([("jfr", mutated), ("labels", labels)]);
        return ("name=javaapp&format=jfr&spyName=javaspy&from=1700000000&until=1700000010", contentType, body);
    }, ciCases: 1000);

    [Fact]
    public Task Folded() => RunAsync(nameof(Folded), random =>
        ("name=app.cpu&from=1700000000&until=1700000010&sampleRate=100", null, TextMutator.Mutate(FoldedFixture.Value, random)));

    [Fact]
    public Task Lines() => RunAsync(nameof(Lines), random =>
        ("name=app.wall&format=lines&from=1700000000&until=1700000010", null, TextMutator.Mutate(LinesFixture.Value, random)));

    [Fact]
    public Task Speedscope() => RunAsync(nameof(Speedscope), random =>
        ("name=app&format=speedscope&from=1700000000&until=1700000010", null, JsonMutator.Mutate(SpeedscopeFixture.Value, random)));

    [Fact]
    public Task Trie() => RunAsync(nameof(Trie), random =>
        ("name=app.cpu&format=trie&from=1700000000&until=1700000010", TrieIngestFormat.ContentType, ByteMutator.Mutate(LegacyTreeEncoder.Trie(FoldedStacks.Value), random)));

    [Fact]
    public Task Tree() => RunAsync(nameof(Tree), random =>
        ("name=app.cpu&format=tree&from=1700000000&until=1700000010", TreeIngestFormat.ContentType, ByteMutator.Mutate(LegacyTreeEncoder.Tree(FoldedStacks.Value), random)));

    private static readonly Lazy<string> FoldedFixture = new(() => File.ReadAllText(PathOf("folded/go-cpu-nanoseconds.folded")));

    private static readonly Lazy<Dictionary<string, long>> FoldedStacks = new(() => FoldedText.Parse(FoldedFixture.Value));

    private static readonly Lazy<string> LinesFixture = new(() => string.Join('\n', FoldedStacks.Value.Keys));

    private static readonly Lazy<string> SpeedscopeFixture = new(() => File.ReadAllText(PathOf("upstream/og_convert_speedscope__simple.speedscope.json")));

    private static async Task RunAsync(string test, Func<Random, (string Query, string? ContentType, byte[] Body)> generate, int ciCases = CiCases)
    {
        var report = await FuzzRunner.RunAsync(test, FuzzSettings.Cases(ciCases), parallelism: 2, (random, _) => RunCase(generate(random)), TestContext.Current.CancellationToken);
        Assert.True(report.Failures.Count == 0, report.ToString());
    }

    /// <summary>Null when the case ended in a result or a client error; otherwise what went wrong.</summary>
    private static string? RunCase((string Query, string? ContentType, byte[] Body) input)
    {
        try
        {
            var parsed = System.Web.HttpUtility.ParseQueryString(input.Query);
            var md = IngestMetadata.Parse(name => parsed[name], Now);
            var seriesSoFar = 0;
            foreach (var profile in IngestFormatRegistry.BuiltIn.Decode(md, input.ContentType, input.Body, Limits.MaxProfilePayloadBytes))
            {
                var series = ProfileNormalizer.Normalize(profile.Profile, profile.Labels, Limits, new NormalizeContext(Now, md.FromNanos, profile.DecompressedSize)
                {
                    MaxSeries = Limits.MaxGlobalSeriesPerTenant - seriesSoFar,
                    SeriesSoFar = seriesSoFar,
                    MaxSeriesSource = "max_global_series_per_tenant",
                });
                seriesSoFar += series.Count;
                foreach (var s in series)
                {
                    foreach (var sample in s.Profile.Sample)
                    {
                        if (sample.Value.Count != 1)
                        {
                            return $"a normalised sample has {sample.Value.Count} values";
                        }
                    }
                }
            }
            return null;
        }
        catch (Exception e) when (e is ProfileFormatException or ProfileValidationException)
        {
            return e.Message.Length == 0 ? $"{e.GetType().Name} without a message" : null;
        }
    }

    private static (string ContentType, byte[] Body) Multipart(IEnumerable<(string Name, byte[] Content)> parts)
    {
        const string boundary = "----fuzz-boundary";
        using var ms = new MemoryStream();
        foreach (var (name, content) in parts)
        {
            ms.Write(Encoding.ASCII.GetBytes($"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"));
            ms.Write(content);
            ms.Write("\r\n"u8);
        }
        ms.Write(Encoding.ASCII.GetBytes($"--{boundary}--\r\n"));
        return ($"multipart/form-data; boundary={boundary}", ms.ToArray());
    }
}
