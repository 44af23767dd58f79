using Google.Protobuf;
using Pyroscope.Contracts.Google.V1;

namespace Pyroscope.Formats.Pprof;

/// <summary>Decodes pprof (gzip or raw) into the generated <see cref="Profile"/> message.</summary>
public static class PprofDecoder
{
    /// <summary>Default cap on the decompressed size when the caller has no tenant limit at hand.</summary>
    public const long DefaultMaxDecompressedBytes = 256L * 1024 * 1024;

    public static Profile Decode(ReadOnlyMemory<byte> data, long maxDecompressedBytes, string what, out int decompressedSize)
    {
        if (data.IsEmpty)
        {
            throw new ProfileFormatException($"{what}: empty profile");
        }
        var raw = BoundedGzip.MaybeDecompress(data, maxDecompressedBytes, what, out var owner);
        using (owner)
        {
            decompressedSize = raw.Length;
            try
            {
                // Parsing copies every string out, so the decompressed bytes can go back right after.
                return Profile.Parser.ParseFrom(raw.Span);
            }
            catch (InvalidProtocolBufferException e)
            {
                throw new ProfileFormatException($"{what}: not a valid pprof protobuf ({raw.Length} bytes{(owner is null ? "" : " after gunzip")}): {e.Message}", e);
            }
        }
    }

    public static Profile Decode(ReadOnlyMemory<byte> data, long maxDecompressedBytes = DefaultMaxDecompressedBytes, string what = "pprof") =>
        Decode(data, maxDecompressedBytes, what, out _);
}
