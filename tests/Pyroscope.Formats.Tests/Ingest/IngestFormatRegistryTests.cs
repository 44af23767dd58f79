using System.Text;
using System.Web;
using Pyroscope.Formats.Ingest;
using Pyroscope.Formats.Pprof;
using Pyroscope.Model;
using static Pyroscope.Formats.Tests.Ingest.FixtureSupport;

namespace Pyroscope.Formats.Tests.Ingest;

/// <summary>The one registry every /ingest format is found through: by format=, by content type, by form field.</summary>
public sealed class IngestFormatRegistryTests
{
    private static IngestMetadata Metadata(string query)
    {
        var parsed = HttpUtility.ParseQueryString(query);
        return IngestMetadata.Parse(name => parsed[name], 1_700_000_000_000_000_000);
    }

    private static string Resolve(IngestFormatRegistry registry, string format, string? contentType, byte[]? body = null)
    {
        using var payload = new IngestPayload(Metadata("name=app" + (format.Length > 0 ? "&format=" + format : "")), contentType, body ?? [], 1 << 20);
        return registry.Resolve(payload).Name;
    }

    [Theory]
    [InlineData("", "binary/octet-stream+tree", "tree")]
    [InlineData("", "Binary/Octet-Stream+Trie; charset=x", "trie")]
    [InlineData("lines", "binary/octet-stream+trie", "trie")] // a media type wins over format=, as upstream checks it first
    [InlineData("tree", "binary/octet-stream+trie", "trie")] // trie before tree, as upstream
    [InlineData("jfr", "application/octet-stream", "jfr")]
    [InlineData("collapsed", null, "folded")]
    [InlineData("pprof", null, "pprof")]
    [InlineData("", "text/plain", "folded")]
    [InlineData("", null, "folded")]
    public void Format_parameter_and_content_type_pick_the_format(string format, string? contentType, string expected) =>
        Assert.Equal(expected, Resolve(IngestFormatRegistry.BuiltIn, format, contentType));

    [Theory]
    [InlineData("profile", "pprof")]
    [InlineData("jfr", "jfr")]
    [InlineData("something_else", "pprof")] // upstream reads any form as a pprof form (an empty push)
    public void A_form_without_format_is_found_by_the_field_it_carries(string field, string expected)
    {
        var (contentType, body) = IngestFormatDecodingTests.Multipart((field, [1, 2, 3]));
        Assert.Equal(expected, Resolve(IngestFormatRegistry.BuiltIn, "", contentType, body));
    }

    [Fact]
    public void A_format_living_elsewhere_joins_by_registration_and_names_are_unique()
    {
        var registry = new IngestFormatRegistry([new EchoFormat()]);
        Assert.Equal("echo", Resolve(registry, "echo", null));
        Assert.Equal("echo", Resolve(registry, "echo-alias", null));
        var profiles = registry.Decode(Metadata("name=app&format=echo"), null, "a;b 3"u8.ToArray());
        Assert.Equal("5", Assert.Single(profiles).Labels.Single(l => l.Name == "bytes").Value);
        var unknown = Assert.Throws<ProfileFormatException>(() => registry.Decode(Metadata("name=app&format=yaml"), null, Array.Empty<byte>()));
        Assert.Contains("supported: pprof, jfr, trie, tree, lines, speedscope, folded, echo", unknown.Message);

        var duplicate = Assert.Throws<ArgumentException>(() => new IngestFormatRegistry([new EchoFormat(), new EchoFormat()]));
        Assert.Contains("\"echo\" is registered twice", duplicate.Message);
    }

    public static TheoryData<string, string?> EveryFormat => new()
    {
        { "pprof", null },
        { "jfr", null },
        { "trie", null },
        { "tree", null },
        { "lines", null },
        { "speedscope", null },
        { "folded", null },
    };

    [Theory]
    [MemberData(nameof(EveryFormat))]
    public void Every_format_obeys_the_payload_cap_raw_and_gzipped(string format, string? contentType)
    {
        const int cap = 64 * 1024;
        var raw = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("main;work 1\n", 6000)));
        Assert.True(raw.Length > cap);
        var md = Metadata("name=app.cpu&format=" + format);

        var tooLarge = Assert.Throws<ProfileTooLargeException>(() => IngestFormatRegistry.BuiltIn.Decode(md, contentType, raw, cap));
        Assert.Contains($"limit of {cap} bytes (max_profile_size_bytes)", tooLarge.Message);
        var bomb = Assert.Throws<ProfileTooLargeException>(() => IngestFormatRegistry.BuiltIn.Decode(md, contentType, Testing.Fuzzing.PprofMutator.Gzip(new byte[16 * cap]), cap));
        Assert.Contains("decompresses to more than the limit", bomb.Message);
    }

    [Fact]
    public void Form_fields_obey_the_payload_cap_too()
    {
        var (contentType, body) = IngestFormatDecodingTests.Multipart(("jfr", new byte[100_000]));
        var e = Assert.Throws<ProfileTooLargeException>(() => IngestFormatRegistry.BuiltIn.Decode(Metadata("name=app&format=jfr"), contentType, body, 50_000));
        Assert.StartsWith("jfr field jfr:", e.Message);
    }

    [Fact]
    public void Gzipped_payloads_decode_like_plain_ones()
    {
        var plain = Read("folded/go-cpu-nanoseconds.folded");
        var md = Metadata("name=app.cpu&from=1700000000&until=1700000010");
        var fromPlain = Assert.Single(IngestFormatRegistry.BuiltIn.Decode(md, null, plain));
        var fromGzip = Assert.Single(IngestFormatRegistry.BuiltIn.Decode(md, null, Testing.Fuzzing.PprofMutator.Gzip(plain)));
        Assert.Equal(StackTotals(fromPlain.Profile), StackTotals(fromGzip.Profile));
        Assert.True(BoundedGzip.IsGzip(Testing.Fuzzing.PprofMutator.Gzip(plain)));
    }

    private sealed class EchoFormat : IIngestFormat
    {
        public string Name => "echo";

        public IReadOnlyList<string> Aliases => ["echo-alias"];

        public IReadOnlyList<IngestedProfile> Decode(IngestPayload payload) =>
            [new IngestedProfile([new Label("bytes", payload.Profile(Name).Length.ToString(System.Globalization.CultureInfo.InvariantCulture))], new Contracts.Google.V1.Profile(), 0)];
    }
}
