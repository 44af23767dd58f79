using System.Globalization;

namespace Pyroscope.Testing;

/// <summary>An independent reading of folded text ("a;b;c 42" per line), for expected values in tests.</summary>
public static class FoldedText
{
    /// <summary>Stack ("a;b;c") → summed value; blank lines are skipped.</summary>
    public static Dictionary<string, long> Parse(string text)
    {
        var stacks = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0)
            {
                continue;
            }
            var space = line.LastIndexOf(' ');
            var key = line[..space];
            stacks[key] = stacks.GetValueOrDefault(key) + long.Parse(line[(space + 1)..], CultureInfo.InvariantCulture);
        }
        return stacks;
    }
}
