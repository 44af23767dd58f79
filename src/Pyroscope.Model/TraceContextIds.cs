using System.Globalization;

namespace Pyroscope.Model;

/// <summary>
/// Span and trace ids as profiles carry them (sample labels <c>span_id</c>, <c>trace_id</c>: hex text) and as they are
/// stored and compared (numbers; 0 = none). Written back as lowercase hex of the full width, as upstream answers them.
/// </summary>
public static class TraceContextIds
{
    public const string TraceIdLabel = "trace_id";

    /// <summary>A span id as sent: up to 16 hex digits, not all zero.</summary>
    public static bool TryParseSpanId(ReadOnlySpan<char> text, out ulong spanId)
    {
        spanId = 0;
        return text.Length is > 0 and <= 16
            && ulong.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out spanId)
            && spanId != 0;
    }

    /// <summary>A trace id as sent: up to 32 hex digits, not all zero.</summary>
    public static bool TryParseTraceId(ReadOnlySpan<char> text, out UInt128 traceId)
    {
        traceId = 0;
        return text.Length is > 0 and <= 32
            && UInt128.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out traceId)
            && traceId != 0;
    }

    /// <summary>A trace id as sent, read from its UTF-8 bytes (a profile's string table) without making a string.</summary>
    public static bool TryParseTraceId(ReadOnlySpan<byte> utf8, out UInt128 traceId)
    {
        traceId = 0;
        return utf8.Length is > 0 and <= 32
            && UInt128.TryParse(utf8, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out traceId)
            && traceId != 0;
    }

    /// <summary>16 lowercase hex digits; empty for none.</summary>
    public static string FormatSpanId(ulong spanId) =>
        spanId == 0 ? "" : spanId.ToString("x16", CultureInfo.InvariantCulture);

    /// <summary>32 lowercase hex digits; empty for none.</summary>
    public static string FormatTraceId(UInt128 traceId) =>
        traceId == 0 ? "" : traceId.ToString("x32", CultureInfo.InvariantCulture);
}
