using System.Text;

namespace Pyroscope.Testing.Fuzzing;

/// <summary>Line-oriented mutations for folded / lines text: odd separators, numbers at the edges of int64, blank and huge lines.</summary>
public static class TextMutator
{
    private static readonly string[] Values =
    [
        "0", "-1", "1", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "18446744073709551615",
        "99999999999999999999999", "1e9", "0x10", "NaN", "", " ", "1.5", "+1",
    ];

    private static readonly string[] Fragments = [";", ";;", " ", "\t", "\r", "\0", "é", "\ud83d\ude00", "\\", "\"", "a;b;c", "{", "}", "\u00ff"];

    public static byte[] Mutate(string text, Random random)
    {
        var lines = new List<string>(text.Split('\n'));
        var rounds = 1 + random.Next(4);
        for (var r = 0; r < rounds; r++)
        {
            var at = random.Next(lines.Count);
            switch (random.Next(7))
            {
                case 0:
                    {
                        var line = lines[at];
                        var space = line.LastIndexOf(' ');
                        lines[at] = (space < 0 ? line : line[..space]) + " " + Values[random.Next(Values.Length)];
                        break;
                    }
                case 1:
                    lines[at] = lines[at].Insert(random.Next(lines[at].Length + 1), Fragments[random.Next(Fragments.Length)]);
                    break;
                case 2:
                    lines.RemoveAt(at);
                    if (lines.Count == 0)
                    {
                        lines.Add("");
                    }
                    break;
                case 3:
                    lines.Insert(at, string.Concat(Enumerable.Repeat("frame;", 1 + random.Next(2000))) + "leaf " + Values[random.Next(Values.Length)]);
                    break;
                case 4:
                    lines[at] = lines[at][..random.Next(lines[at].Length + 1)];
                    break;
                case 5:
                    lines.Insert(at, Values[random.Next(Values.Length)]);
                    break;
                default:
                    lines.Insert(random.Next(lines.Count + 1), lines[at]);
                    break;
            }
        }
        var bytes = Encoding.UTF8.GetBytes(string.Join('\n', lines));
        // Now and then a raw byte-level change too (invalid UTF-8).
        return random.Next(4) == 0 ? ByteMutator.Mutate(bytes, random) : bytes;
    }
}
