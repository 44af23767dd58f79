using Pyroscope.Formats.Jfr;
using Pyroscope.Formats.Pprof;
using static Pyroscope.Formats.Tests.Jfr.JfrTestSupport;

namespace Pyroscope.Formats.Tests.Jfr;

/// <summary>Bad input must fail with a <see cref="JfrFormatException"/>, never with a crash-type exception.</summary>
public sealed class MalformedInputTests
{
    public static TheoryData<string> Recordings => ["jdk17", "async-profiler"];

    private static byte[] Load(string name) => name == "jdk17"
        ? File.ReadAllBytes(SharedFixture("jfr/jdk17-cpu-alloc.jfr"))
        : ReadGzip(SharedFixture("upstream/og_convert_jfr__dump1.jfr.gz"));

    [Theory]
    [MemberData(nameof(Recordings))]
    public void Every_truncation_is_rejected_with_an_offset(string name)
    {
        var jfr = Load(name);
        var cuts = Enumerable.Range(0, 200).Select(i => (int)((long)jfr.Length * i / 200))
            .Concat(Enumerable.Range(1, 80).Select(i => jfr.Length - i));
        foreach (var length in cuts.Distinct())
        {
            var ex = Assert.Throws<JfrFormatException>(() => JfrConverter.Convert(jfr.AsSpan(0, length), [], new JfrConvertOptions()));
            Assert.InRange(ex.Offset, 0, length);
            Assert.Contains("offset", ex.Message);
        }
    }

    [Theory]
    [MemberData(nameof(Recordings))]
    public void Bit_flips_either_convert_or_fail_cleanly(string name)
    {
        var original = Load(name);
        var random = new Random(20261125);
        var converted = 0;
        for (var round = 0; round < 300; round++)
        {
            var jfr = (byte[])original.Clone();
            var flips = 1 + random.Next(4);
            for (var f = 0; f < flips; f++)
            {
                var position = random.Next(jfr.Length);
                jfr[position] ^= (byte)(1 << random.Next(8));
            }
            try
            {
                JfrConverter.Convert(jfr, [], new JfrConvertOptions());
                converted++;
            }
            catch (JfrFormatException)
            {
            }
        }
        // Most flips hit event payloads and still convert; the point is that nothing else escapes.
        Assert.True(converted > 0);
    }

    [Fact]
    public void Header_problems_are_named()
    {
        var empty = Assert.Throws<JfrFormatException>(() => JfrConverter.Convert([], [], new JfrConvertOptions()));
        Assert.Contains("empty", empty.Message);

        var notJfr = Assert.Throws<JfrFormatException>(() => JfrConverter.Convert("not a recording at all, just text padding it out to 68+ bytes......."u8, [], new JfrConvertOptions()));
        Assert.Equal(0, notJfr.Offset);
        Assert.Contains("magic", notJfr.Message);
    }

    [Fact]
    public void Corrupt_labels_snapshot_is_rejected()
    {
        var jfr = Load("async-profiler");
        var ex = Assert.Throws<JfrFormatException>(() => JfrConverter.Convert(jfr, new byte[] { 0x0a, 0x7f, 0x01 }, new JfrConvertOptions()));
        Assert.Contains("labels snapshot", ex.Message);
    }

    [Fact]
    public void Gzipped_payloads_are_recognised()
    {
        var gz = File.ReadAllBytes(SharedFixture("upstream/og_convert_jfr__dump1.jfr.gz"));
        using var raw = BoundedGzip.Decompress(gz, long.MaxValue, "jfr");
        Assert.Equal(ReadGzip(SharedFixture("upstream/og_convert_jfr__dump1.jfr.gz")), raw.Span.ToArray());
        Assert.Equal(raw.Span.ToArray(), BoundedGzip.MaybeDecompress(raw.Memory, long.MaxValue, "jfr", out _).ToArray());
        // A cut gzip stream yields a cut recording, which the parser rejects.
        using var cut = BoundedGzip.Decompress(gz.AsMemory(0, gz.Length / 2), long.MaxValue, "jfr");
        var span = cut.Memory;
        Assert.Throws<JfrFormatException>(() => JfrConverter.Convert(span.Span, [], new JfrConvertOptions()));
    }

    [Fact]
    public void Two_chunks_convert_like_one_twice()
    {
        var jfr = File.ReadAllBytes(SharedFixture("jfr/jdk17-cpu-alloc.jfr"));
        var once = JfrConverter.Convert(jfr, [], new JfrConvertOptions());
        var twice = JfrConverter.Convert([.. jfr, .. jfr], [], new JfrConvertOptions());

        Assert.Equal(once.Select(p => p.Type.Id), twice.Select(p => p.Type.Id));
        for (var i = 0; i < once.Count; i++)
        {
            var expected = Collapsed(once[i].Pprof).ToDictionary(kv => kv.Key, kv => kv.Value * 2);
            var actual = Collapsed(twice[i].Pprof);
            Assert.True(expected.OrderBy(kv => kv.Key).SequenceEqual(actual.OrderBy(kv => kv.Key)), Describe(expected, actual));
        }
    }
}
