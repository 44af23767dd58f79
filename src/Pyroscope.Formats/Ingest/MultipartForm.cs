using System.Text;

namespace Pyroscope.Formats.Ingest;

/// <summary>A minimal multipart/form-data reader over an in-memory body: part name → content.</summary>
public static class MultipartForm
{
    public static bool IsMultipart(string? contentType) =>
        contentType is not null && contentType.Contains("multipart/form-data", StringComparison.OrdinalIgnoreCase);

    public static Dictionary<string, ReadOnlyMemory<byte>> Parse(ReadOnlyMemory<byte> body, string contentType)
    {
        var boundary = Boundary(contentType);
        var delimiter = Encoding.ASCII.GetBytes("--" + boundary);
        var parts = new Dictionary<string, ReadOnlyMemory<byte>>(StringComparer.Ordinal);
        var span = body.Span;
        var start = span.IndexOf(delimiter);
        if (start < 0)
        {
            throw new ProfileFormatException($"multipart: boundary \"{boundary}\" not found in body");
        }
        var position = start + delimiter.Length;
        while (true)
        {
            var rest = span[position..];
            if (rest.StartsWith("--"u8))
            {
                return parts; // closing delimiter
            }
            // Skip the CRLF after the delimiter line.
            var lineEnd = rest.IndexOf("\r\n"u8);
            if (lineEnd < 0)
            {
                throw new ProfileFormatException("multipart: truncated part header");
            }
            position += lineEnd + 2;
            var headersEnd = span[position..].IndexOf("\r\n\r\n"u8);
            if (headersEnd < 0)
            {
                throw new ProfileFormatException("multipart: part headers not terminated");
            }
            var headers = Encoding.UTF8.GetString(span.Slice(position, headersEnd));
            position += headersEnd + 4;
            var next = span[position..].IndexOf(Concat("\r\n"u8, delimiter));
            if (next < 0)
            {
                throw new ProfileFormatException("multipart: missing closing boundary (truncated body?)");
            }
            var name = PartName(headers);
            if (name is not null)
            {
                parts[name] = body.Slice(position, next);
            }
            position += next + 2 + delimiter.Length;
        }
    }

    private static byte[] Concat(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        var result = new byte[a.Length + b.Length];
        a.CopyTo(result);
        b.CopyTo(result.AsSpan(a.Length));
        return result;
    }

    private static string Boundary(string contentType)
    {
        foreach (var parameter in contentType.Split(';'))
        {
            var p = parameter.Trim();
            if (p.StartsWith("boundary=", StringComparison.OrdinalIgnoreCase))
            {
                var value = p["boundary=".Length..].Trim('"');
                if (value.Length is > 0 and <= 200)
                {
                    return value;
                }
            }
        }
        throw new ProfileFormatException($"multipart: no boundary in Content-Type \"{contentType}\"");
    }

    private static string? PartName(string headers)
    {
        foreach (var line in headers.Split("\r\n"))
        {
            if (!line.StartsWith("Content-Disposition:", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            foreach (var parameter in line.Split(';'))
            {
                var p = parameter.Trim();
                if (p.StartsWith("name=", StringComparison.OrdinalIgnoreCase))
                {
                    return p["name=".Length..].Trim('"');
                }
            }
        }
        return null;
    }
}
