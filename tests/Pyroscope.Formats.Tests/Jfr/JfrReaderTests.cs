using System.Text;
using Pyroscope.Formats.Jfr;

namespace Pyroscope.Formats.Tests.Jfr;

public sealed class JfrReaderTests
{
    [Theory]
    [InlineData(new byte[] { 0x00 }, 0L)]
    [InlineData(new byte[] { 0x7f }, 127L)]
    [InlineData(new byte[] { 0x80, 0x01 }, 128L)]
    [InlineData(new byte[] { 0xff, 0xff, 0xff, 0xff, 0x0f }, 0xffffffffL)]
    // Nine bytes: the last one carries all 8 bits.
    [InlineData(new byte[] { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, -1L)]
    [InlineData(new byte[] { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80 }, long.MinValue)]
    public void Compressed_longs_decode(byte[] bytes, long expected)
    {
        var reader = new JfrReader(bytes, 0, bytes.Length);
        Assert.Equal(expected, reader.ReadVarLong("test"));
        Assert.Equal(bytes.Length, reader.Position);
    }

    [Fact]
    public void Truncated_varint_names_offset_and_field()
    {
        var ex = Assert.Throws<JfrFormatException>(() =>
        {
            var reader = new JfrReader(new byte[] { 0x01, 0x80, 0x80 }, 0, 3);
            reader.ReadVarLong("first");
            reader.ReadVarLong("stack trace id");
        });
        Assert.Equal(3, ex.Offset);
        Assert.Contains("stack trace id", ex.Message);
    }

    [Fact]
    public void All_string_encodings_decode()
    {
        var data = new List<byte> { 0, 1, 2, 42, 3, 5 };
        data.AddRange(Encoding.UTF8.GetBytes("héllo"[..4])); // "héll" is 5 bytes in UTF-8
        data.AddRange([4, 3, 0x61, 0xe9, 0x01, 0x62]);       // char array: 'a', 'é' (0xe9 as a 2-byte varint), 'b'
        data.AddRange([5, 2, 0x63, 0xe9]);                   // Latin-1 "cé"
        var bytes = data.ToArray();
        var reader = new JfrReader(bytes, 0, bytes.Length);

        Assert.Null(reader.ReadString("null", out _));
        Assert.Equal("", reader.ReadString("empty", out _));
        Assert.Null(reader.ReadString("pooled", out var poolRef));
        Assert.Equal(42, poolRef);
        Assert.Equal("héll", reader.ReadString("utf8", out _));
        Assert.Equal("aéb", reader.ReadString("chars", out _));
        Assert.Equal("cé", reader.ReadString("latin1", out _));
        Assert.Equal(bytes.Length, reader.Position);
    }

    [Fact]
    public void Unknown_string_encoding_is_rejected()
    {
        var ex = Assert.Throws<JfrFormatException>(() =>
        {
            var reader = new JfrReader(new byte[] { 9 }, 0, 1);
            reader.ReadString("symbol", out _);
        });
        Assert.Contains("unknown string encoding 9", ex.Message);
    }

    [Fact]
    public void Lengths_beyond_the_data_are_rejected_before_allocating()
    {
        var ex = Assert.Throws<JfrFormatException>(() =>
        {
            var reader = new JfrReader(new byte[] { 3, 0xff, 0xff, 0xff, 0x7f }, 0, 5);
            reader.ReadString("utf8", out _);
        });
        Assert.Contains("exceeds", ex.Message);
    }

    [Theory]
    [InlineData("jdk/internal/reflect/GeneratedMethodAccessor31", "jdk/internal/reflect/GeneratedMethodAccessor_")]
    [InlineData("org/example/OrderService$$Lambda$669.0x0000000800fd7318", "org/example/OrderService$$Lambda_")]
    [InlineData("Fib$$Lambda.0x00007ffa600c4da0", "Fib$$Lambda_")]
    [InlineData("App$$Lambda$14/0x0000000800c03000", "App$$Lambda_")]
    [InlineData("libzstd-jni-1.5.1-16931311898282279136.so", "libzstd-jni-_.so")]
    [InlineData("./tmp/libamazonCorrettoCryptoProvider109b39cf33c563eb.so", "libamazonCorrettoCryptoProvider_.so")]
    [InlineData("libasyncProfiler-linux-x64-17b9a1d8156277a98ccc871afa9a8f69215f92.so", "libasyncProfiler-_.so")]
    [InlineData("java/lang/Thread", "java/lang/Thread")]
    public void Generated_names_are_merged_as_upstream(string symbol, string expected) =>
        Assert.Equal(expected, JfrFrameNames.Normalize(symbol));
}
