using System.Globalization;

namespace Pyroscope.Model;

/// <summary>
/// The one duration grammar of flags and configuration, as upstream's flags and YAML write durations: Prometheus
/// style (<c>7d</c>, <c>1h30m</c>, <c>2w</c>, <c>1y</c>), Go style (<c>1.5h</c>, <c>300ms</c>, <c>10us</c>), a bare
/// <c>0</c>, and .NET's <c>hh:mm:ss</c> (what environment variables set from .NET code tend to carry).
/// Query times of the HTTP API (<c>now-1h</c>, with months) are a different grammar: <see cref="Query.QueryTime"/>.
/// </summary>
public static class DurationText
{
    public static TimeSpan Parse(string text, string what)
    {
        if (TryParse(text, out var value))
        {
            return value;
        }
        throw new FormatException($"invalid duration \"{text}\" for {what} (expected e.g. 10m, 1h, 7d)");
    }

    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }
        var s = text.AsSpan().Trim();
        if (s is "0")
        {
            return true;
        }
        if (s.Contains(':'))
        {
            return TimeSpan.TryParse(s, CultureInfo.InvariantCulture, out value);
        }
        var negative = false;
        if (s[0] == '-')
        {
            negative = true;
            s = s[1..];
        }
        double totalTicks = 0;
        while (!s.IsEmpty)
        {
            var numberEnd = 0;
            while (numberEnd < s.Length && (char.IsAsciiDigit(s[numberEnd]) || s[numberEnd] == '.'))
            {
                numberEnd++;
            }
            if (numberEnd == 0 || !double.TryParse(s[..numberEnd], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                return false;
            }
            s = s[numberEnd..];
            var unitEnd = 0;
            while (unitEnd < s.Length && !char.IsAsciiDigit(s[unitEnd]) && s[unitEnd] != '.')
            {
                unitEnd++;
            }
            double unitTicks = s[..unitEnd] switch
            {
                "y" => TimeSpan.TicksPerDay * 365d,
                "w" => TimeSpan.TicksPerDay * 7d,
                "d" => TimeSpan.TicksPerDay,
                "h" => TimeSpan.TicksPerHour,
                "m" => TimeSpan.TicksPerMinute,
                "s" => TimeSpan.TicksPerSecond,
                "ms" => TimeSpan.TicksPerMillisecond,
                "us" or "µs" or "μs" => TimeSpan.TicksPerMicrosecond,
                "ns" => 0.01,
                _ => -1,
            };
            if (unitTicks < 0)
            {
                return false;
            }
            totalTicks += number * unitTicks;
            s = s[unitEnd..];
        }
        if (totalTicks > TimeSpan.MaxValue.Ticks)
        {
            return false;
        }
        value = TimeSpan.FromTicks((long)(negative ? -totalTicks : totalTicks));
        return true;
    }

    /// <summary>Prometheus-style text for a duration, e.g. <c>1h</c>, <c>7d</c>, <c>0s</c>.</summary>
    public static string Format(TimeSpan value)
    {
        if (value == TimeSpan.Zero)
        {
            return "0s";
        }
        var sb = new System.Text.StringBuilder();
        if (value < TimeSpan.Zero)
        {
            sb.Append('-');
            value = value.Negate();
        }
        if (value.Days > 0) { sb.Append(value.Days).Append('d'); }
        if (value.Hours > 0) { sb.Append(value.Hours).Append('h'); }
        if (value.Minutes > 0) { sb.Append(value.Minutes).Append('m'); }
        if (value.Seconds > 0) { sb.Append(value.Seconds).Append('s'); }
        if (value.Milliseconds > 0) { sb.Append(value.Milliseconds).Append("ms"); }
        return sb.ToString();
    }
}
