using System.Globalization;

namespace Pyroscope.Formats.Ingest;

/// <summary>
/// <c>from</c>/<c>until</c> of <c>/ingest</c> like upstream's attime.Parse: digits by length (≤10 s, 13 ms,
/// 16 µs, 19 ns; 8 digits = YYYYMMDD), <c>now</c>, <c>now-1h</c> / <c>now+30m</c>, or RFC 3339. A time
/// that does not fit in int64 nanoseconds (before 1677 or after 2262) is refused, never wrapped.
/// </summary>
public static class IngestTime
{
    public static long ParseUnixNanos(string? text, long nowNanos, string what)
    {
        try
        {
            return Parse(text, nowNanos, what);
        }
        catch (OverflowException)
        {
            throw new ProfileFormatException($"invalid {what} \"{text}\": out of range (times must fall between 1677 and 2262)");
        }
    }

    private static long Parse(string? text, long nowNanos, string what)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return nowNanos;
        }
        text = text.Trim();
        if (text == "now")
        {
            return nowNanos;
        }
        if (text.StartsWith("now", StringComparison.Ordinal))
        {
            var sign = text[3];
            if ((sign == '-' || sign == '+') && TryRelative(text.AsSpan(4), out var offsetNanos))
            {
                return checked(sign == '-' ? nowNanos - offsetNanos : nowNanos + offsetNanos);
            }
            throw new ProfileFormatException($"invalid {what} \"{text}\" (expected e.g. now-1h)");
        }
        var allDigits = true;
        foreach (var c in text)
        {
            allDigits &= char.IsAsciiDigit(c);
        }
        if (allDigits && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
        {
            if (text.Length == 8 && DateTime.TryParseExact(text, "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var day))
            {
                return checked((day.Ticks - DateTime.UnixEpoch.Ticks) * 100);
            }
            return text.Length switch
            {
                19 => n,
                16 => checked(n * 1_000),
                13 => checked(n * 1_000_000),
                _ when n <= long.MaxValue / 1_000_000_000 => n * 1_000_000_000,
                _ => throw new ProfileFormatException($"invalid {what} \"{text}\": out of range"),
            };
        }
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
        {
            return checked((date.UtcTicks - DateTime.UnixEpoch.Ticks) * 100);
        }
        throw new ProfileFormatException($"invalid {what} \"{text}\" (expected unix seconds/ms/µs/ns, YYYYMMDD, now-1h or RFC 3339)");
    }

    private static bool TryRelative(ReadOnlySpan<char> s, out long nanos)
    {
        nanos = 0;
        var i = 0;
        while (i < s.Length && char.IsAsciiDigit(s[i]))
        {
            i++;
        }
        if (i == 0 || !long.TryParse(s[..i], NumberStyles.None, CultureInfo.InvariantCulture, out var n))
        {
            return false;
        }
        long unit = s[i..] switch
        {
            "ns" => 1,
            "us" or "µs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "d" => 86_400_000_000_000,
            "w" => 7 * 86_400_000_000_000,
            "y" => 365 * 86_400_000_000_000,
            _ => 0,
        };
        if (unit == 0)
        {
            return false;
        }
        nanos = checked(n * unit);
        return true;
    }
}
