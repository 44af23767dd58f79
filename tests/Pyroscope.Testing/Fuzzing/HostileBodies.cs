using System.IO.Compression;
using Google.Protobuf;
using Pyroscope.Contracts.Google.V1;
using ValueType = Pyroscope.Contracts.Google.V1.ValueType;

namespace Pyroscope.Testing.Fuzzing;

/// <summary>The request shapes that once took a server's memory: amplification profiles and compression bombs.</summary>
public static class HostileBodies
{
    /// <summary>
    /// A small pprof whose samples each carry a distinct value of one pprof label: <paramref name="samples"/>
    /// label groups × 2 sample types of series (16 000 samples ≈ 64 KB gzipped).
    /// </summary>
    public static Profile DistinctLabelPerSample(int samples, long timeNanos)
    {
        var profile = new Profile { TimeNanos = timeNanos };
        profile.StringTable.Add("");
        profile.StringTable.Add("cpu");
        profile.StringTable.Add("nanoseconds");
        profile.StringTable.Add("request_id");
        profile.StringTable.Add("main");
        profile.StringTable.Add("work");
        profile.StringTable.Add("samples");
        profile.StringTable.Add("count");
        profile.SampleType.Add(new ValueType { Type = 6, Unit = 7 });
        profile.SampleType.Add(new ValueType { Type = 1, Unit = 2 });
        profile.Function.Add(new Function { Id = 1, Name = 4 });
        profile.Function.Add(new Function { Id = 2, Name = 5 });
        profile.Location.Add(new Location { Id = 1, Line = { new Line { FunctionId = 1 } } });
        profile.Location.Add(new Location { Id = 2, Line = { new Line { FunctionId = 2 } } });
        for (var i = 0; i < samples; i++)
        {
            profile.StringTable.Add("req-" + i);
            profile.Sample.Add(new Sample
            {
                LocationId = { 2, 1 },
                Value = { 1, 10 },
                Label = { new Label { Key = 3, Str = profile.StringTable.Count - 1 } },
            });
        }
        return profile;
    }

    /// <summary>gzip of <paramref name="bytes"/> zero bytes: about 1 KB per MB.</summary>
    public static byte[] GzipZeros(long bytes)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            var zeros = new byte[1 << 20];
            for (var left = bytes; left > 0; left -= zeros.Length)
            {
                gzip.Write(zeros, 0, (int)Math.Min(zeros.Length, left));
            }
        }
        return output.ToArray();
    }

    /// <summary>
    /// gzip of a push.v1 PushRequest that is valid protobuf as far as it goes: one series whose one raw_profile
    /// claims <paramref name="rawProfileBytes"/> bytes, all zeros. Parsing it inflates right up to the cap.
    /// </summary>
    public static byte[] GzipPushWithHugeRawProfile(long rawProfileBytes)
    {
        // RawSample { raw_profile(1) = bytes }, RawProfileSeries { samples(2) = RawSample }, PushRequest { series(1) }.
        var sampleLength = 1 + VarintLength((ulong)rawProfileBytes) + rawProfileBytes;
        var seriesLength = 1 + VarintLength((ulong)sampleLength) + sampleLength;
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            var header = new MemoryStream();
            var coded = new CodedOutputStream(header);
            coded.WriteTag(1, WireFormat.WireType.LengthDelimited);
            coded.WriteUInt64((ulong)seriesLength);
            coded.WriteTag(2, WireFormat.WireType.LengthDelimited);
            coded.WriteUInt64((ulong)sampleLength);
            coded.WriteTag(1, WireFormat.WireType.LengthDelimited);
            coded.WriteUInt64((ulong)rawProfileBytes);
            coded.Flush();
            gzip.Write(header.ToArray());
            var zeros = new byte[1 << 20];
            for (var left = rawProfileBytes; left > 0; left -= zeros.Length)
            {
                gzip.Write(zeros, 0, (int)Math.Min(zeros.Length, left));
            }
        }
        return output.ToArray();
    }

    private static int VarintLength(ulong value) => CodedOutputStream.ComputeUInt64Size(value);
}
