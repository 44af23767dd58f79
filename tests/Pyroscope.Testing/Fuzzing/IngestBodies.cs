using System.Text;
using Pyroscope.Contracts.Google.V1;

namespace Pyroscope.Testing.Fuzzing;

/// <summary>One generated /ingest request: query string, content type and body.</summary>
public readonly record struct IngestCase(string Query, string? ContentType, byte[] Body);

/// <summary>
/// Mutated real fixtures (../shared/fixtures) for every /ingest format: structure-aware for pprof and JSON,
/// line-aware for text, byte-level for binary formats. Shared by the in-process and the over-HTTP fuzz tests.
/// </summary>
public static class IngestBodies
{
    public static readonly string[] Formats = ["pprof", "pprof-form", "jfr", "folded", "lines", "speedscope", "trie", "tree"];

    private static readonly string[] Spies = ["gospy", "dotnetspy", "pyspy", "rbspy", "nodespy", "unknown", "javaspy"];

    private static readonly Lazy<Profile[]> PprofSeeds = new(() =>
    [
        Pprof("go/go-cpu.pb.gz"),
        Pprof("go/go-heap.pb.gz"),
        Pprof("nodejs/nodejs-001.pb.gz"),
        Pprof("upstream/og_convert_pprof__dotnet-pprof-3.pb.gz"),
        Pprof("upstream/og_convert_pprof__pyspy-1.pb.gz"),
        Pprof("datadog/ddpprof-wall-cpu.pb.gz"),
    ]);

    private static readonly Lazy<string> Folded = new(() => File.ReadAllText(RepositoryPaths.Fixture("folded/go-cpu-nanoseconds.folded")));

    private static readonly Lazy<Dictionary<string, long>> FoldedStacks = new(() => FoldedText.Parse(Folded.Value));

    private static readonly Lazy<string> Speedscope = new(() => File.ReadAllText(RepositoryPaths.Fixture("upstream/og_convert_speedscope__simple.speedscope.json")));

    private static readonly Lazy<byte[]> Jdk17 = new(() => File.ReadAllBytes(RepositoryPaths.Fixture("jfr/jdk17-cpu-alloc.jfr")));

    private static readonly Lazy<byte[]> AsyncProfiler = new(() => File.ReadAllBytes(RepositoryPaths.Fixture("upstream/og_convert_jfr__dump1.jfr.gz")));

    private static readonly Lazy<byte[]> JfrLabels = new(() => File.ReadAllBytes(RepositoryPaths.Fixture("upstream/og_convert_jfr__dump1.labels.pb.gz")));

    private static readonly string[] WildParameters =
    [
        "from=9999999999999999", "from=now-106751991167d", "until=now%2B9223372036854775s", "from=-1", "from=0", "until=99999999999999999999",
        "sampleRate=0", "sampleRate=-5", "sampleRate=2147483648", "from=now-1h&until=now-2h", "spyName=", "units=%00", "aggregationType=average",
        "from=9999-12-31T23:59:59Z", "from=20241340",
    ];

    private static readonly string[] WildNames = ["", "app{", "app{a=", "app{a=1,a=2}", "app.nosuchtype", "%00", "{}", "app{__name__=x}", "a b", "app{service_name=}"];

    /// <summary>
    /// A case of <paramref name="format"/>; <paramref name="fromSeconds"/> is the request's time (fixtures keep
    /// their own in pprof). One case in six also gets a hostile query parameter or app name.
    /// </summary>
    public static IngestCase Create(string format, Random random, long fromSeconds)
    {
        var result = CreateBody(format, random, fromSeconds);
        return random.Next(6) switch
        {
            0 => result with { Query = result.Query + "&" + Pick(WildParameters, random) },
            1 => result with { Query = "name=" + Uri.EscapeDataString(Pick(WildNames, random)) + result.Query[result.Query.IndexOf('&')..] },
            _ => result,
        };
    }

    private static IngestCase CreateBody(string format, Random random, long fromSeconds)
    {
        var window = $"from={fromSeconds}&until={fromSeconds + 10}";
        switch (format)
        {
            case "pprof":
                return new($"name=app{{env=fuzz}}&format=pprof&spyName={Pick(Spies, random)}&{window}", null, PprofMutator.Mutate(PprofSeed(random, fromSeconds), random, gzip: random.Next(2) == 0));
            case "pprof-form":
                {
                    const string config = """{"inuse_space":{"units":"bytes","aggregation":"average","display-name":"inuse_space_bytes"},"cpu":{"units":"samples","sampled":true}}""";
                    var parts = new List<(string, byte[])> { ("profile", PprofMutator.Mutate(PprofSeed(random, fromSeconds), random, gzip: true)) };
                    if (random.Next(4) > 0)
                    {
                        parts.Add(("sample_type_config", JsonMutator.Mutate(config, random)));
                    }
                    if (random.Next(10) == 0)
                    {
                        parts.Add(("prev_profile", [1]));
                    }
                    var (contentType, body) = Multipart(parts);
                    return new($"name=app&spyName={Pick(Spies, random)}&{window}", contentType, random.Next(5) == 0 ? ByteMutator.Mutate(body, random) : body);
                }
            case "jfr":
                {
                    var recording = ByteMutator.Mutate(random.Next(2) == 0 ? Jdk17.Value : AsyncProfiler.Value, random);
                    var query = $"name=javaapp&format=jfr&spyName=javaspy&{window}";
                    if (random.Next(2) == 0)
                    {
                        return new(query, "application/octet-stream", recording);
                    }
                    var (contentType, body) = Multipart([("jfr", recording), ("labels", ByteMutator.Mutate(JfrLabels.Value, random))]);
                    return new(query, contentType, body);
                }
            case "folded":
                return new($"name=app.cpu&{window}&sampleRate=100", null, TextMutator.Mutate(Folded.Value, random));
            case "lines":
                return new($"name=app.wall&format=lines&{window}", null, TextMutator.Mutate(string.Join('\n', FoldedStacks.Value.Keys), random));
            case "speedscope":
                return new($"name=app&format=speedscope&{window}", null, JsonMutator.Mutate(Speedscope.Value, random));
            case "trie":
                return new($"name=app.cpu&format=trie&{window}", "binary/octet-stream+trie", ByteMutator.Mutate(LegacyTreeEncoder.Trie(FoldedStacks.Value), random));
            case "tree":
                return new($"name=app.cpu&format=tree&{window}", "binary/octet-stream+tree", ByteMutator.Mutate(LegacyTreeEncoder.Tree(FoldedStacks.Value), random));
            default:
                throw new ArgumentOutOfRangeException(nameof(format), format, null);
        }
    }

    public static (string ContentType, byte[] Body) Multipart(IEnumerable<(string Name, byte[] Content)> parts)
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

    private static Profile PprofSeed(Random random, long fromSeconds)
    {
        var seed = PprofSeeds.Value[random.Next(PprofSeeds.Value.Length)].Clone();
        seed.TimeNanos = fromSeconds * 1_000_000_000;
        return seed;
    }

    private static Profile Pprof(string fixture)
    {
        var bytes = File.ReadAllBytes(RepositoryPaths.Fixture(fixture));
        if (bytes.Length > 1 && bytes[0] == 0x1f && bytes[1] == 0x8b)
        {
            using var gzip = new System.IO.Compression.GZipStream(new MemoryStream(bytes), System.IO.Compression.CompressionMode.Decompress);
            using var plain = new MemoryStream();
            gzip.CopyTo(plain);
            bytes = plain.ToArray();
        }
        return Profile.Parser.ParseFrom(bytes);
    }

    private static T Pick<T>(T[] items, Random random) => items[random.Next(items.Length)];
}
