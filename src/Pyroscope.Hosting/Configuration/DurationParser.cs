using System.Globalization;

namespace Pyroscope.Hosting.Configuration;

/// <summary>Go/Prometheus-style durations: <c>1h30m</c>, <c>500ms</c>, <c>7d</c>, <c>2w</c>, <c>0</c>.</summary>
public static class DurationParser
{
    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }
        var s = text.Trim();
        if (s == "0")
        {
            return true;
        }
        var total = 0.0;
        var i = 0;
        while (i < s.Length)
        {
            var start = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.'))
            {
                i++;
            }
            if (i == start || !double.TryParse(s.AsSpan(start, i - start), NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
            {
                return false;
            }
            var unitStart = i;
            while (i < s.Length && char.IsAsciiLetter(s[i]))
            {
                i++;
            }
            double? ms = s[unitStart..i] switch
            {
                "ns" => number / 1e6,
                "us" or "µs" => number / 1e3,
                "ms" => number,
                "s" => number * 1e3,
                "m" => number * 60e3,
                "h" => number * 3600e3,
                "d" => number * 86400e3,
                "w" => number * 7 * 86400e3,
                "y" => number * 365 * 86400e3,
                _ => null,
            };
            if (ms is null)
            {
                return false;
            }
            total += ms.Value;
        }
        duration = TimeSpan.FromMilliseconds(total);
        return true;
    }

    public static TimeSpan Parse(string text) =>
        TryParse(text, out var d) ? d : throw new FormatException($"\"{text}\" is not a duration such as 30s, 5m, 1h, 7d");
}
