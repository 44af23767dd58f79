namespace Pyroscope.Profiler.Export;

/// <summary>What upstream accepts as an application name and a label name of a pushed series.</summary>
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
        if (string.IsNullOrEmpty(key) || key.StartsWith("__", StringComparison.Ordinal))
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
}
