namespace Pyroscope.Testing.Fuzzing;

/// <summary>Format-blind mutations of a byte string: flips, interesting bytes, cuts, splices, repeats.</summary>
public static class ByteMutator
{
    private static readonly byte[] Interesting = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0x0a, 0x20, 0x3b, 0x22, 0x5c, 0x7b, 0x5b];

    /// <summary>One to four mutations of <paramref name="input"/> (never modified).</summary>
    public static byte[] Mutate(ReadOnlySpan<byte> input, Random random)
    {
        var data = new List<byte>(input.ToArray());
        var rounds = 1 + random.Next(4);
        for (var r = 0; r < rounds; r++)
        {
            MutateOnce(data, random);
        }
        return [.. data];
    }

    private static void MutateOnce(List<byte> data, Random random)
    {
        if (data.Count == 0)
        {
            data.Add((byte)random.Next(256));
            return;
        }
        var at = random.Next(data.Count);
        switch (random.Next(9))
        {
            case 0:
                data[at] ^= (byte)(1 << random.Next(8));
                break;
            case 1:
                data[at] = Interesting[random.Next(Interesting.Length)];
                break;
            case 2:
                data[at] = (byte)random.Next(256);
                break;
            case 3:
                data.RemoveRange(at, Math.Min(data.Count - at, 1 + random.Next(16)));
                break;
            case 4:
                data.RemoveRange(at, data.Count - at); // truncation
                break;
            case 5:
                {
                    // Repeat a chunk: duplicated fields, records, frames.
                    var length = Math.Min(data.Count - at, 1 + random.Next(64));
                    var chunk = data.GetRange(at, length);
                    data.InsertRange(random.Next(data.Count + 1), chunk);
                    break;
                }
            case 6:
                {
                    var bytes = new byte[1 + random.Next(8)];
                    random.NextBytes(bytes);
                    data.InsertRange(at, bytes);
                    break;
                }
            case 7:
                // A varint that never ends or a huge length prefix.
                data.InsertRange(at, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
                break;
            default:
                {
                    // Swap two chunks.
                    var other = random.Next(data.Count);
                    (data[at], data[other]) = (data[other], data[at]);
                    break;
                }
        }
    }
}
