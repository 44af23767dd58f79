using System.Text;

namespace Pyroscope.Profiler.Export;

/// <summary>The <c>name=app{k=v,...}</c> parameter of upstream's <c>/ingest</c>.</summary>
internal static class IngestName
{
    public static bool IsValidApplicationName(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return false;
        }
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '/' or '-'))
            {
                return false;
            }
        }
        return true;
    }

    public static bool IsValidTagKey(string? key)
    {
        if (string.IsNullOrEmpty(key))
        {
            return false;
        }
        foreach (var c in key)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.'))
            {
                return false;
            }
        }
        return true;
    }

    public static string Format(string application, IEnumerable<KeyValuePair<string, string>> tags)
    {
        var builder = new StringBuilder(application).Append('{');
        var first = true;
        foreach (var (key, value) in tags.OrderBy(static t => t.Key, StringComparer.Ordinal))
        {
            if (!first)
            {
                builder.Append(',');
            }
            first = false;
            builder.Append(key).Append('=').Append(value);
        }
        return builder.Append('}').ToString();
    }
}
