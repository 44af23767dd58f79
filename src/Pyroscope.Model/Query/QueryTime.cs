using System.Globalization;

namespace Pyroscope.Model.Query;

/// <summary>
/// Time arguments of the legacy HTTP API: <c>now</c>, <c>now-1h</c> (s, m, h, d, w, M, y), or unix
/// digits whose length gives the unit (≤10 seconds, 13 ms, 16 µs, 19 ns). Arithmetic that would overflow
/// makes the text invalid (a 400), and every query range is clamped to the times a timestamp can hold.
/// </summary>
public static class QueryTime
{
    /// <summary>The last millisecond of year 9999: later times have no calendar date and only overflow.</summary>
    public static readonly long MaxUnixMs = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();

    /// <summary>
    /// A query bound moved into [0, <see cref="MaxUnixMs"/>]: nothing is stored before 1970 or after 9999, so the
    /// answer is the same, and range arithmetic (length, steps, look-back) cannot overflow.
    /// </summary>
    public static long ClampMs(long ms) => Math.Clamp(ms, 0, MaxUnixMs);

    public static bool TryParseMs(string? text, long nowMs, out long ms)
    {
        ms = 0;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }
        var s = text.Trim();
        if (s.StartsWith("now", StringComparison.Ordinal))
        {
            var rest = s.AsSpan(3);
            if (rest.IsEmpty)
            {
                ms = nowMs;
                return true;
            }
            if (rest[0] is not ('-' or '+') || !TryParseDurationMs(rest[1..], out var d))
            {
                return false;
            }
            var shifted = rest[0] == '-' ? (Int128)nowMs - d : (Int128)nowMs + d;
            if (shifted < long.MinValue || shifted > long.MaxValue)
            {
                return false;
            }
            ms = (long)shifted;
            return true;
        }
        if (!long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
        {
            return false;
        }
        if (s.Length <= 12 && n > long.MaxValue / 1000)
        {
            return false;
        }
        ms = s.Length switch
        {
            >= 19 => n / 1_000_000,
            >= 16 => n / 1_000,
            >= 13 => n,
            _ => n * 1000,
        };
        return true;
    }

    private static bool TryParseDurationMs(ReadOnlySpan<char> s, out long ms)
    {
        ms = 0;
        if (s.Length < 2)
        {
            return false;
        }
        var unit = s[^1];
        if (!long.TryParse(s[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var n))
        {
            return false;
        }
        long factor = unit switch
        {
            's' => 1000,
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => 86_400_000,
            'w' => 7 * 86_400_000L,
            'M' => 30 * 86_400_000L,
            'y' => 365 * 86_400_000L,
            _ => 0,
        };
        if (factor == 0 || n > long.MaxValue / factor)
        {
            return false;
        }
        ms = n * factor;
        return true;
    }
}
