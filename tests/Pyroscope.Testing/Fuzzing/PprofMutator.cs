using System.IO.Compression;
using Google.Protobuf;
using Pyroscope.Contracts.Google.V1;
using ValueType = Pyroscope.Contracts.Google.V1.ValueType;

namespace Pyroscope.Testing.Fuzzing;

/// <summary>
/// Structure-aware pprof mutations: out-of-range string and id references, values at the edges of int64,
/// sample-label explosions, extreme times and depths, then (sometimes) byte-level damage on the encoding.
/// Raw byte flips alone mostly break the protobuf framing; these reach the code behind the parser.
/// </summary>
public static class PprofMutator
{
    private static readonly long[] EdgeValues = [0, -1, 1, long.MaxValue, long.MinValue, long.MaxValue / 2 + 1, int.MaxValue, uint.MaxValue];

    public static byte[] Mutate(Profile seed, Random random, bool gzip)
    {
        var profile = seed.Clone();
        var rounds = 1 + random.Next(3);
        for (var r = 0; r < rounds; r++)
        {
            MutateOnce(profile, random);
        }
        var bytes = profile.ToByteArray();
        if (random.Next(6) == 0)
        {
            bytes = ByteMutator.Mutate(bytes, random);
        }
        return gzip ? Gzip(bytes) : bytes;
    }

    public static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gz = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gz.Write(bytes);
        }
        return output.ToArray();
    }

    private static long BadIndex(Profile p, Random random) => random.Next(3) switch
    {
        0 => p.StringTable.Count,
        1 => -1 - random.Next(5),
        _ => long.MaxValue - random.Next(5),
    };

    private static void MutateOnce(Profile p, Random random)
    {
        switch (random.Next(22))
        {
            case 0 when p.SampleType.Count > 0:
                p.SampleType[random.Next(p.SampleType.Count)].Type = BadIndex(p, random);
                break;
            case 1 when p.SampleType.Count > 0:
                p.SampleType[random.Next(p.SampleType.Count)].Unit = BadIndex(p, random);
                break;
            case 2 when p.Function.Count > 0:
                {
                    var f = p.Function[random.Next(p.Function.Count)];
                    switch (random.Next(3))
                    {
                        case 0: f.Name = BadIndex(p, random); break;
                        case 1: f.Filename = BadIndex(p, random); break;
                        default: f.SystemName = BadIndex(p, random); break;
                    }
                    break;
                }
            case 3 when p.Sample.Count > 0:
                {
                    var s = p.Sample[random.Next(p.Sample.Count)];
                    s.Label.Add(new Label { Key = random.Next(2) == 0 ? BadIndex(p, random) : 1, Str = random.Next(2) == 0 ? BadIndex(p, random) : 1 });
                    break;
                }
            case 4 when p.Sample.Count > 0:
                {
                    var s = p.Sample[random.Next(p.Sample.Count)];
                    if (s.Value.Count > 0)
                    {
                        s.Value[random.Next(s.Value.Count)] = EdgeValues[random.Next(EdgeValues.Length)];
                    }
                    break;
                }
            case 5:
                // Every sample the same extreme value: sums must saturate, not wrap.
                foreach (var s in p.Sample)
                {
                    for (var i = 0; i < s.Value.Count; i++)
                    {
                        s.Value[i] = long.MaxValue - random.Next(3);
                    }
                }
                break;
            case 6 when p.Sample.Count > 0:
                p.Sample[random.Next(p.Sample.Count)].LocationId.Add((ulong)random.NextInt64());
                break;
            case 7 when p.Location.Count > 0:
                p.Location[random.Next(p.Location.Count)].Id = random.Next(2) == 0 ? 0 : p.Location[0].Id;
                break;
            case 8 when p.Function.Count > 0:
                p.Function[random.Next(p.Function.Count)].Id = random.Next(2) == 0 ? 0 : ulong.MaxValue;
                break;
            case 9 when p.Location.Count > 0 && p.Location[0].Line.Count > 0:
                p.Location[random.Next(p.Location.Count)].Line.Add(new Line { FunctionId = (ulong)random.NextInt64(), Line_ = -1 });
                break;
            case 10 when p.Sample.Count > 0:
                p.Sample[random.Next(p.Sample.Count)].Value.Add(1);
                break;
            case 11:
                p.StringTable[0] = "not empty";
                break;
            case 12:
                p.TimeNanos = EdgeValues[random.Next(EdgeValues.Length)];
                p.DurationNanos = EdgeValues[random.Next(EdgeValues.Length)];
                p.Period = EdgeValues[random.Next(EdgeValues.Length)];
                break;
            case 13:
                {
                    // Sample-label explosion: every sample its own label value (series amplification).
                    var key = p.StringTable.Count;
                    p.StringTable.Add("fuzz_label");
                    foreach (var s in p.Sample)
                    {
                        s.Label.Add(new Label { Key = key, Str = p.StringTable.Count });
                        p.StringTable.Add("v" + random.Next());
                    }
                    break;
                }
            case 14:
                {
                    // Many sample types (series amplification along the other axis).
                    var extra = 1 + random.Next(64);
                    for (var t = 0; t < extra; t++)
                    {
                        p.SampleType.Add(new ValueType { Type = p.StringTable.Count, Unit = 0 });
                        p.StringTable.Add("t" + t);
                        foreach (var s in p.Sample)
                        {
                            s.Value.Add(random.Next(3));
                        }
                    }
                    break;
                }
            case 15 when p.Sample.Count > 0:
                {
                    var s = p.Sample[random.Next(p.Sample.Count)];
                    var depth = random.Next(5000);
                    for (var i = 0; i < depth && s.LocationId.Count > 0; i++)
                    {
                        s.LocationId.Add(s.LocationId[0]);
                    }
                    break;
                }
            case 16:
                p.StringTable.Add(new string('x', 1 + random.Next(200_000)));
                if (p.Function.Count > 0)
                {
                    p.Function[random.Next(p.Function.Count)].Name = p.StringTable.Count - 1;
                }
                break;
            case 17 when p.Mapping.Count > 0:
                p.Mapping[random.Next(p.Mapping.Count)].Id = 0;
                p.Mapping[random.Next(p.Mapping.Count)].Filename = BadIndex(p, random);
                break;
            case 18:
                {
                    // profile_id / span_id sample labels, sometimes not hex.
                    var key = p.StringTable.Count;
                    p.StringTable.Add(random.Next(2) == 0 ? "profile_id" : "span_id");
                    p.StringTable.Add(random.Next(2) == 0 ? "00000000deadbeef" : "zz-not-hex");
                    foreach (var s in p.Sample)
                    {
                        s.Label.Add(new Label { Key = key, Str = key + 1 });
                    }
                    break;
                }
            case 19:
                p.SampleType.Clear();
                break;
            case 20 when p.PeriodType is not null:
                p.PeriodType.Type = BadIndex(p, random);
                break;
            default:
                p.DropFrames = BadIndex(p, random);
                p.Comment.Add(BadIndex(p, random));
                break;
        }
    }
}
