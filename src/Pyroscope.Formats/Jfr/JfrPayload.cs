using System.IO.Compression;

namespace Pyroscope.Formats.Jfr;

/// <summary>Helpers for the bodies agents send: the <c>jfr</c> and <c>labels</c> parts may each be gzipped.</summary>
public static class JfrPayload
{
    /// <summary>Returns the data itself, or its gunzipped content when it starts with the gzip magic.</summary>
    /// <exception cref="JfrFormatException">The gzip stream is corrupt or longer than <paramref name="maxBytes"/>.</exception>
    public static ReadOnlyMemory<byte> Decompress(ReadOnlyMemory<byte> data, long maxBytes = 256L << 20)
    {
        var span = data.Span;
        if (span.Length < 2 || span[0] != 0x1f || span[1] != 0x8b)
        {
            return data;
        }
        try
        {
            using var input = new MemoryStream(data.ToArray(), writable: false);
            using var gzip = new GZipStream(input, CompressionMode.Decompress);
            using var output = new MemoryStream();
            var buffer = new byte[81920];
            int read;
            while ((read = gzip.Read(buffer, 0, buffer.Length)) > 0)
            {
                if (output.Length + read > maxBytes)
                {
                    throw new JfrFormatException(0, $"gzip content exceeds {maxBytes} bytes");
                }
                output.Write(buffer, 0, read);
            }
            return output.GetBuffer().AsMemory(0, (int)output.Length);
        }
        catch (InvalidDataException ex)
        {
            throw new JfrFormatException(0, $"corrupt gzip stream: {ex.Message}");
        }
    }
}
