using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Google.Protobuf;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Model;
using Pyroscope.Model.Ingest;

namespace Pyroscope.Ingester.Client;

/// <summary>
/// The payload of one ingester WAL record (and, codec 2's body, what a distributor sends an ingester in another process): <c>string tenant | byte codec | body</c>, the string as protobuf writes one (uvarint
/// byte count, UTF-8). The framing around it (length, CRC) is the WAL file format's. Two codecs:
/// <list type="bullet">
/// <item>2 (a push normalised by a distributor of this version): the profiles as received — per profile its series labels, the agent
/// fix-ups and the pprof bytes (gzip as received, else zstd-1) — and the <see cref="PushContext"/> that makes
/// normalising them again give the same series and ids. Nothing is re-encoded per push, and the record is no bigger
/// than what was received.</item>
/// <item>1: a zstd-1 compressed ingester.v1 <c>PushRequest</c> of normalised series (pushes from distributors in other
/// processes, and WAL files of earlier versions).</item>
/// </list>
/// </summary>
public static class WalRecordCodec
{
    private const byte CodecZstdPushRequest = 1;
    private const byte CodecReceivedProfiles = 2;
    private const byte PayloadAsReceived = 0;
    private const byte PayloadZstd = 1;

    [ThreadStatic]
    private static ZstdSharp.Compressor? t_compressor;

    public static byte[] Encode(string tenantId, PushRequest request)
    {
        var compressor = t_compressor ??= new ZstdSharp.Compressor(1);
        var compressed = compressor.Wrap(request.ToByteArray());
        var record = new byte[CodedOutputStream.ComputeStringSize(tenantId) + 1 + compressed.Length];
        var writer = new RecordWriter(record);
        writer.String(tenantId);
        writer.Byte(CodecZstdPushRequest);
        writer.Bytes(compressed);
        return record;
    }

    /// <summary>
    /// A push's received profiles as a record: <c>tenant | 2 | uvarint n | n × uvarint series index | body</c>, where the
    /// series listed are the ones this ingester stores (none listed: all) and the body is <see cref="EncodeBody"/>.
    /// </summary>
    public static RentedRecord Encode(string tenantId, IngestPush push)
    {
        var (payloads, codecs, size) = Payloads(push);
        var record = ArrayPool<byte>.Shared.Rent(CodedOutputStream.ComputeStringSize(tenantId) + 2 + size);
        var writer = new RecordWriter(record);
        writer.String(tenantId);
        writer.Byte(CodecReceivedProfiles);
        writer.Varint(0);
        WriteBody(ref writer, push, payloads, codecs);
        return new RentedRecord(record, writer.Position);
    }

    /// <summary>The same record around a body received from a distributor, with the series this ingester stores.</summary>
    public static RentedRecord Encode(string tenantId, IReadOnlyList<uint> series, ReadOnlySpan<byte> body)
    {
        var record = ArrayPool<byte>.Shared.Rent(CodedOutputStream.ComputeStringSize(tenantId) + 1 + 5 + 5 * series.Count + body.Length);
        var writer = new RecordWriter(record);
        writer.String(tenantId);
        writer.Byte(CodecReceivedProfiles);
        writer.Varint((ulong)series.Count);
        foreach (var index in series)
        {
            writer.Varint(index);
        }
        writer.Bytes(body);
        return new RentedRecord(record, writer.Position);
    }

    /// <summary>
    /// A push's profiles as received with its <see cref="PushContext"/>: <c>context | uvarint profiles | per profile:
    /// labels, fix-ups, payload codec, payload</c>; payloads that are not gzip already are zstd-compressed.
    /// </summary>
    public static ReadOnlyMemory<byte> EncodeBody(IngestPush push)
    {
        var (payloads, codecs, size) = Payloads(push);
        var body = new byte[size];
        var writer = new RecordWriter(body);
        WriteBody(ref writer, push, payloads, codecs);
        // The size is an upper bound (varints at their longest): a slice, not a second copy.
        return body.AsMemory(0, writer.Position);
    }

    private static (ReadOnlyMemory<byte>[] Payloads, byte[] Codecs, int Size) Payloads(IngestPush push)
    {
        var profiles = push.Profiles;
        var payloads = new ReadOnlyMemory<byte>[profiles.Count];
        var codecs = new byte[profiles.Count];
        var size = 4 * 10 + 16 + 5;
        for (var p = 0; p < profiles.Count; p++)
        {
            var profile = profiles[p];
            var payload = profile.Payload;
            if (!IsGzip(payload.Span))
            {
                var compressor = t_compressor ??= new ZstdSharp.Compressor(1);
                payload = compressor.Wrap(payload.Span).ToArray();
                codecs[p] = PayloadZstd;
            }
            payloads[p] = payload;
            size += 5 + 2 + 5 + payload.Length;
            foreach (var label in profile.Labels)
            {
                size += CodedOutputStream.ComputeStringSize(label.Name) + CodedOutputStream.ComputeStringSize(label.Value);
            }
        }
        return (payloads, codecs, size);
    }

    private static void WriteBody(ref RecordWriter writer, IngestPush push, ReadOnlyMemory<byte>[] payloads, byte[] codecs)
    {
        var profiles = push.Profiles;
        var context = push.Context;
        writer.Varint((ulong)context.NowNanos);
        writer.Varint((ulong)context.FallbackTimeNanos);
        writer.Varint((ulong)context.MaxStackDepth);
        writer.Varint((ulong)context.MaxSymbolLength);
        writer.UInt128(context.IdSeed);
        writer.Varint((ulong)profiles.Count);
        for (var p = 0; p < profiles.Count; p++)
        {
            var profile = profiles[p];
            writer.Varint((ulong)profile.Labels.Count);
            foreach (var label in profile.Labels)
            {
                writer.String(label.Name);
                writer.String(label.Value);
            }
            writer.Byte((byte)profile.Fixups);
            writer.Byte(codecs[p]);
            writer.Varint((ulong)payloads[p].Length);
            writer.Bytes(payloads[p].Span);
        }
    }

    /// <summary>A body from a distributor (<see cref="EncodeBody"/>); throws <see cref="InvalidDataException"/> when malformed.</summary>
    public static ReceivedPush DecodeBody(ReadOnlyMemory<byte> body, IReadOnlyList<uint> series)
    {
        var reader = new RecordReader(body);
        return DecodeReceived(ref reader, ToIndexes(series));
    }

    private static int[]? ToIndexes(IReadOnlyList<uint> series)
    {
        if (series.Count == 0)
        {
            return null;
        }
        var indexes = new int[series.Count];
        for (var i = 0; i < indexes.Length; i++)
        {
            indexes[i] = checked((int)series[i]);
        }
        return indexes;
    }

    /// <summary>Throws <see cref="InvalidDataException"/>, <see cref="InvalidProtocolBufferException"/> or a zstd error on a bad record.</summary>
    public static WalRecord Decode(byte[] record)
    {
        var reader = new RecordReader(record);
        var tenant = reader.String();
        var codec = reader.Byte();
        switch (codec)
        {
            case CodecZstdPushRequest:
                using (var decompressor = new ZstdSharp.Decompressor())
                {
                    return new WalRecord(tenant, PushRequest.Parser.ParseFrom(decompressor.Unwrap(record.AsSpan(reader.Position))), null);
                }
            case CodecReceivedProfiles:
                var count = reader.Count();
                int[]? series = null;
                if (count > 0)
                {
                    series = new int[count];
                    for (var i = 0; i < count; i++)
                    {
                        series[i] = checked((int)reader.Varint());
                    }
                }
                return new WalRecord(tenant, null, DecodeReceived(ref reader, series));
            default:
                throw new InvalidDataException($"WAL record uses unknown codec {codec}.");
        }
    }

    private static ReceivedPush DecodeReceived(ref RecordReader reader, int[]? series)
    {
        var context = new PushContext((long)reader.Varint(), (long)reader.Varint(), checked((int)reader.Varint()), checked((int)reader.Varint()), reader.UInt128());
        var count = reader.Count();
        var profiles = new List<ReceivedProfile>(count);
        for (var p = 0; p < count; p++)
        {
            var labelCount = reader.Count();
            var labels = new Label[labelCount];
            for (var l = 0; l < labelCount; l++)
            {
                labels[l] = new Label(reader.String(), reader.String());
            }
            var fixups = (PprofFixups)reader.Byte();
            var payloadCodec = reader.Byte();
            var payload = reader.Bytes(reader.Count());
            if (payloadCodec == PayloadZstd)
            {
                using var decompressor = new ZstdSharp.Decompressor();
                payload = decompressor.Unwrap(payload.Span).ToArray();
            }
            else if (payloadCodec != PayloadAsReceived)
            {
                throw new InvalidDataException($"WAL record uses unknown payload codec {payloadCodec}.");
            }
            profiles.Add(new ReceivedProfile(labels, fixups, payload));
        }
        return new ReceivedPush(context, profiles, series);
    }

    private static bool IsGzip(ReadOnlySpan<byte> data) => data.Length >= 2 && data[0] == 0x1f && data[1] == 0x8b;

    private ref struct RecordWriter(Span<byte> buffer)
    {
        private readonly Span<byte> _buffer = buffer;

        public int Position { get; private set; }

        public void Byte(byte value) => _buffer[Position++] = value;

        public void Varint(ulong value)
        {
            while (value >= 0x80)
            {
                _buffer[Position++] = (byte)(value | 0x80);
                value >>= 7;
            }
            _buffer[Position++] = (byte)value;
        }

        public void String(string value)
        {
            Varint((ulong)Encoding.UTF8.GetByteCount(value));
            Position += Encoding.UTF8.GetBytes(value, _buffer[Position..]);
        }

        public void UInt128(UInt128 value)
        {
            BinaryPrimitives.WriteUInt128LittleEndian(_buffer[Position..], value);
            Position += 16;
        }

        public void Bytes(ReadOnlySpan<byte> value)
        {
            value.CopyTo(_buffer[Position..]);
            Position += value.Length;
        }
    }

    /// <summary>Reads a record or body; payloads it returns are slices of it, not copies.</summary>
    private struct RecordReader(ReadOnlyMemory<byte> record)
    {
        public int Position { get; private set; }

        public byte Byte()
        {
            if (Position >= record.Length)
            {
                throw new InvalidDataException("WAL record ends early.");
            }
            return record.Span[Position++];
        }

        public ulong Varint()
        {
            ulong value = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                var b = Byte();
                value |= (ulong)(b & 0x7f) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }
            throw new InvalidDataException("WAL record has a malformed varint.");
        }

        /// <summary>A length or count: never more than the bytes left.</summary>
        public int Count()
        {
            var value = Varint();
            if (value > (ulong)(record.Length - Position))
            {
                throw new InvalidDataException($"WAL record declares {value} entries with {record.Length - Position} bytes left.");
            }
            return (int)value;
        }

        public string String()
        {
            var length = Count();
            var value = Encoding.UTF8.GetString(record.Span.Slice(Position, length));
            Position += length;
            return value;
        }

        public UInt128 UInt128()
        {
            if (record.Length - Position < 16)
            {
                throw new InvalidDataException("WAL record ends early.");
            }
            var value = BinaryPrimitives.ReadUInt128LittleEndian(record.Span[Position..]);
            Position += 16;
            return value;
        }

        public ReadOnlyMemory<byte> Bytes(int length)
        {
            var value = record.Slice(Position, length);
            Position += length;
            return value;
        }
    }
}

/// <summary>
/// A record written into an array rented from the shared pool: a push's record is needed only until the WAL has written
/// it, so the ingester returns it then (<see cref="Dispose"/>) instead of leaving one array per push to the GC.
/// </summary>
public readonly struct RentedRecord(byte[] array, int length) : IDisposable
{
    public ReadOnlyMemory<byte> Bytes => array.AsMemory(0, length);

    public int Length => length;

    public void Dispose() => ArrayPool<byte>.Shared.Return(array);
}

/// <summary>A decoded WAL record: normalised series (codec 1) or the received profiles of a push (codec 2).</summary>
public sealed record WalRecord(string Tenant, PushRequest? Request, ReceivedPush? Received);

/// <summary>A push as logged: what normalises it again exactly, its profiles as received, and which of its series are stored here (null: all).</summary>
public sealed record ReceivedPush(PushContext Context, IReadOnlyList<ReceivedProfile> Profiles, IReadOnlyList<int>? Series);

public sealed record ReceivedProfile(IReadOnlyList<Label> Labels, PprofFixups Fixups, ReadOnlyMemory<byte> Payload);
