using Google.Protobuf;
using Pyroscope.Contracts.Ingester.V1;

namespace Pyroscope.Ingester;

/// <summary>
/// The payload of one WAL record: <c>string tenant | byte codec (1 = zstd level 1) | PushRequest bytes (compressed)</c>,
/// the string as protobuf writes one (uvarint byte count, UTF-8). zstd-1 shrinks raw pprof several times at hundreds
/// of MB/s, so the WAL writes and fsyncs less. The framing around it (length, CRC) is the WAL file format's.
/// </summary>
internal static class WalRecordCodec
{
    private const byte CodecZstd = 1;

    [ThreadStatic]
    private static ZstdSharp.Compressor? t_compressor;

    public static byte[] Encode(string tenantId, PushRequest request)
    {
        var compressor = t_compressor ??= new ZstdSharp.Compressor(1);
        var compressed = compressor.Wrap(request.ToByteArray());
        var record = new byte[CodedOutputStream.ComputeStringSize(tenantId) + 1 + compressed.Length];
        var output = new CodedOutputStream(record);
        output.WriteString(tenantId);
        output.Flush();
        var codecAt = (int)output.Position;
        record[codecAt] = CodecZstd;
        compressed.CopyTo(record.AsSpan(codecAt + 1));
        return record;
    }

    /// <summary>Throws <see cref="InvalidDataException"/>, <see cref="InvalidProtocolBufferException"/> or a zstd error on a bad record.</summary>
    public static (string Tenant, PushRequest Request) Decode(byte[] record)
    {
        var input = new CodedInputStream(record);
        var tenant = input.ReadString();
        var codecAt = (int)input.Position;
        if (codecAt >= record.Length)
        {
            throw new InvalidDataException("WAL record ends after the tenant.");
        }
        if (record[codecAt] != CodecZstd)
        {
            throw new InvalidDataException($"WAL record uses unknown codec {record[codecAt]}.");
        }
        using var decompressor = new ZstdSharp.Decompressor();
        return (tenant, PushRequest.Parser.ParseFrom(decompressor.Unwrap(record.AsSpan(codecAt + 1))));
    }
}
