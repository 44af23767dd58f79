using Pyroscope.Model.Ingest;
using Google.Protobuf;
using Pyroscope.Model.Buffers;

namespace Pyroscope.Formats.Pprof;

/// <summary>
/// Reads pprof (gzip or raw) in one pass into a <see cref="PprofProfile"/>: flat pooled columns, strings left as UTF-8
/// slices of the decompressed bytes. The write path's decoder; the generated <c>Profile</c> message is only built
/// where a caller asks for it (<see cref="PprofConversions"/>).
/// </summary>
public static class PprofReader
{
    /// <summary>Gunzips when needed (within <paramref name="maxDecompressedBytes"/>) and reads; bad bytes throw <see cref="ProfileFormatException"/>.</summary>
    public static PprofProfile Read(ReadOnlyMemory<byte> data, long maxDecompressedBytes, string what, out int decompressedSize)
    {
        if (data.IsEmpty)
        {
            throw new ProfileFormatException($"{what}: empty profile");
        }
        var raw = BoundedGzip.MaybeDecompress(data, maxDecompressedBytes, what, out var owner);
        decompressedSize = raw.Length;
        try
        {
            return ReadDecompressed(raw, owner, what, gunzipped: owner is not null);
        }
        catch
        {
            owner?.Dispose();
            throw;
        }
    }

    /// <summary>Reads decompressed pprof; the profile takes <paramref name="owner"/> (disposed with it, or here when reading fails).</summary>
    public static PprofProfile ReadDecompressed(ReadOnlyMemory<byte> raw, IDisposable? owner, string what = "pprof", bool gunzipped = false)
    {
        var profile = new PprofProfile(raw, owner);
        try
        {
            ReadProfile(new ProtoReader(raw.Span), profile);
            return profile;
        }
        catch (InvalidDataException e)
        {
            profile.Dispose();
            throw new ProfileFormatException($"{what}: not a valid pprof protobuf ({raw.Length} bytes{(gunzipped ? " after gunzip" : "")}): {e.Message}", e);
        }
        catch
        {
            profile.Dispose();
            throw;
        }
    }

    /// <summary>Reads an encoded generated message (a profile another format produced), for the same path as received pprof.</summary>
    public static PprofProfile FromMessage(Contracts.Google.V1.Profile message)
    {
        var size = message.CalculateSize();
        var buffer = PooledBytesOf(size, out var owner);
        message.WriteTo(buffer.AsSpan(0, size));
        return ReadDecompressed(buffer.AsMemory(0, size), owner);
    }

    private static byte[] PooledBytesOf(int size, out IDisposable owner)
    {
        var array = BoundedArrayPool<byte>.Rent(Math.Max(size, 1));
        owner = new ReturnToPool(array);
        return array;
    }

    private static void ReadProfile(ProtoReader reader, PprofProfile profile)
    {
        while (!reader.End)
        {
            var (field, wire) = reader.ReadTag();
            switch (field)
            {
                case 1 when wire == ProtoReader.LengthDelimited:
                    profile.SampleTypes.Add(ReadValueType(reader.ReadMessage(), default));
                    break;
                case 2 when wire == ProtoReader.LengthDelimited:
                    ReadSample(reader.ReadMessage(), profile);
                    break;
                case 3 when wire == ProtoReader.LengthDelimited:
                    profile.Mappings.Add(ReadMapping(reader.ReadMessage()));
                    break;
                case 4 when wire == ProtoReader.LengthDelimited:
                    ReadLocation(reader.ReadMessage(), profile);
                    break;
                case 5 when wire == ProtoReader.LengthDelimited:
                    profile.Functions.Add(ReadFunction(reader.ReadMessage()));
                    break;
                case 6 when wire == ProtoReader.LengthDelimited:
                    var text = reader.ReadLengthDelimited(out var offset);
                    profile.Strings.AddSlice(offset, text.Length);
                    break;
                case 7 when wire == ProtoReader.Varint:
                    profile.DropFrames = reader.ReadInt64();
                    break;
                case 8 when wire == ProtoReader.Varint:
                    profile.KeepFrames = reader.ReadInt64();
                    break;
                case 9 when wire == ProtoReader.Varint:
                    profile.TimeNanos = reader.ReadInt64();
                    break;
                case 10 when wire == ProtoReader.Varint:
                    profile.DurationNanos = reader.ReadInt64();
                    break;
                case 11 when wire == ProtoReader.LengthDelimited:
                    profile.PeriodType = ReadValueType(reader.ReadMessage(), profile.PeriodType ?? default);
                    break;
                case 12 when wire == ProtoReader.Varint:
                    profile.Period = reader.ReadInt64();
                    break;
                case 13 when wire is ProtoReader.Varint or ProtoReader.LengthDelimited:
                    var comments = new LongSink(ref profile.Comments);
                    reader.ReadRepeatedVarint(wire, ref comments);
                    break;
                case 14 when wire == ProtoReader.Varint:
                    profile.DefaultSampleType = reader.ReadInt64();
                    break;
                default:
                    reader.Skip(wire, field);
                    break;
            }
        }
    }

    private static PprofValueType ReadValueType(ProtoReader reader, PprofValueType value)
    {
        while (!reader.End)
        {
            var (field, wire) = reader.ReadTag();
            switch (field)
            {
                case 1 when wire == ProtoReader.Varint:
                    value.Type = reader.ReadInt64();
                    break;
                case 2 when wire == ProtoReader.Varint:
                    value.Unit = reader.ReadInt64();
                    break;
                default:
                    reader.Skip(wire, field);
                    break;
            }
        }
        return value;
    }

    private static void ReadSample(ProtoReader reader, PprofProfile profile)
    {
        ref var sample = ref profile.Samples.Add();
        sample = new PprofSample { LocationStart = profile.SampleLocationIds.Count, ValueStart = profile.SampleValues.Count, LabelStart = profile.SampleLabels.Count };
        while (!reader.End)
        {
            var (field, wire) = reader.ReadTag();
            switch (field)
            {
                case 1 when wire is ProtoReader.Varint or ProtoReader.LengthDelimited:
                    var ids = new ULongSink(ref profile.SampleLocationIds);
                    reader.ReadRepeatedVarint(wire, ref ids);
                    break;
                case 2 when wire is ProtoReader.Varint or ProtoReader.LengthDelimited:
                    var values = new LongSink(ref profile.SampleValues);
                    reader.ReadRepeatedVarint(wire, ref values);
                    break;
                case 3 when wire == ProtoReader.LengthDelimited:
                    profile.SampleLabels.Add(ReadLabel(reader.ReadMessage()));
                    break;
                default:
                    reader.Skip(wire, field);
                    break;
            }
        }
        sample.LocationCount = profile.SampleLocationIds.Count - sample.LocationStart;
        sample.ValueCount = profile.SampleValues.Count - sample.ValueStart;
        sample.LabelCount = profile.SampleLabels.Count - sample.LabelStart;
    }

    private static PprofLabel ReadLabel(ProtoReader reader)
    {
        var label = default(PprofLabel);
        while (!reader.End)
        {
            var (field, wire) = reader.ReadTag();
            switch (field)
            {
                case 1 when wire == ProtoReader.Varint:
                    label.Key = reader.ReadInt64();
                    break;
                case 2 when wire == ProtoReader.Varint:
                    label.Str = reader.ReadInt64();
                    break;
                case 3 when wire == ProtoReader.Varint:
                    label.Num = reader.ReadInt64();
                    break;
                case 4 when wire == ProtoReader.Varint:
                    label.NumUnit = reader.ReadInt64();
                    break;
                default:
                    reader.Skip(wire, field);
                    break;
            }
        }
        return label;
    }

    private static PprofMapping ReadMapping(ProtoReader reader)
    {
        var mapping = default(PprofMapping);
        while (!reader.End)
        {
            var (field, wire) = reader.ReadTag();
            if (wire != ProtoReader.Varint || field > 10)
            {
                reader.Skip(wire, field);
                continue;
            }
            var value = reader.ReadVarint();
            switch (field)
            {
                case 1: mapping.Id = value; break;
                case 2: mapping.MemoryStart = value; break;
                case 3: mapping.MemoryLimit = value; break;
                case 4: mapping.FileOffset = value; break;
                case 5: mapping.Filename = (long)value; break;
                case 6: mapping.BuildId = (long)value; break;
                case 7: mapping.HasFunctions = value != 0; break;
                case 8: mapping.HasFilenames = value != 0; break;
                case 9: mapping.HasLineNumbers = value != 0; break;
                case 10: mapping.HasInlineFrames = value != 0; break;
            }
        }
        return mapping;
    }

    private static void ReadLocation(ProtoReader reader, PprofProfile profile)
    {
        ref var location = ref profile.Locations.Add();
        location = new PprofLocation { LineStart = profile.Lines.Count };
        while (!reader.End)
        {
            var (field, wire) = reader.ReadTag();
            switch (field)
            {
                case 1 when wire == ProtoReader.Varint:
                    location.Id = reader.ReadVarint();
                    break;
                case 2 when wire == ProtoReader.Varint:
                    location.MappingId = reader.ReadVarint();
                    break;
                case 3 when wire == ProtoReader.Varint:
                    location.Address = reader.ReadVarint();
                    break;
                case 4 when wire == ProtoReader.LengthDelimited:
                    profile.Lines.Add(ReadLine(reader.ReadMessage()));
                    break;
                case 5 when wire == ProtoReader.Varint:
                    location.IsFolded = reader.ReadVarint() != 0;
                    break;
                default:
                    reader.Skip(wire, field);
                    break;
            }
        }
        location.LineCount = profile.Lines.Count - location.LineStart;
    }

    private static PprofLine ReadLine(ProtoReader reader)
    {
        var line = default(PprofLine);
        while (!reader.End)
        {
            var (field, wire) = reader.ReadTag();
            switch (field)
            {
                case 1 when wire == ProtoReader.Varint:
                    line.FunctionId = reader.ReadVarint();
                    break;
                case 2 when wire == ProtoReader.Varint:
                    line.Line = reader.ReadInt64();
                    break;
                case 3 when wire == ProtoReader.Varint:
                    line.Column = reader.ReadInt64();
                    break;
                default:
                    reader.Skip(wire, field);
                    break;
            }
        }
        return line;
    }

    private static PprofFunction ReadFunction(ProtoReader reader)
    {
        var function = default(PprofFunction);
        while (!reader.End)
        {
            var (field, wire) = reader.ReadTag();
            if (wire != ProtoReader.Varint || field > 5)
            {
                reader.Skip(wire, field);
                continue;
            }
            var value = reader.ReadVarint();
            switch (field)
            {
                case 1: function.Id = value; break;
                case 2: function.Name = (long)value; break;
                case 3: function.SystemName = (long)value; break;
                case 4: function.Filename = (long)value; break;
                case 5: function.StartLine = (long)value; break;
            }
        }
        return function;
    }

    private ref struct ULongSink(ref PooledList<ulong> list) : IVarintSink
    {
        private ref PooledList<ulong> _list = ref list;

        public void Add(ulong value) => _list.Add(value);
    }

    private ref struct LongSink(ref PooledList<long> list) : IVarintSink
    {
        private ref PooledList<long> _list = ref list;

        public void Add(ulong value) => _list.Add((long)value);
    }

    private sealed class ReturnToPool(byte[] array) : IDisposable
    {
        private byte[]? _array = array;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _array, null) is { } array)
            {
                BoundedArrayPool<byte>.Return(array);
            }
        }
    }
}
