using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Pyroscope.Storage;

/// <summary>
/// The <c>pyroscopedb</c> config section, upstream's storage-engine settings (pkg/phlaredb): where an ingester keeps
/// its WAL and local blocks, when its head is cut, and how long uploaded blocks stay local.
/// </summary>
public sealed class PyroscopeDbOptions
{
    /// <summary>Local data: <c>wal/</c> and <c>local/&lt;tenant&gt;/&lt;ULID&gt;/</c> (blocks not yet uploaded).</summary>
    public string DataPath { get; set; } = "./data";

    /// <summary>The head is cut into a block once it is this old.</summary>
    public TimeSpan MaxBlockDuration { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The head is cut earlier once it holds about this much memory.</summary>
    public long MaxHeadBytes { get; set; } = 1L << 30;

    /// <summary>fsync the WAL before acknowledging a push (safe default). Off: acked data survives a process crash, not a power loss.</summary>
    public bool WalFsync { get; set; } = true;

    /// <summary>How long an uploaded block stays on local disk (longer than readers cache block listings).</summary>
    public TimeSpan LocalRetentionAfterUpload { get; set; } = TimeSpan.FromMinutes(2);

    public static PyroscopeDbOptions From(IConfiguration configuration)
    {
        var section = configuration.GetSection("pyroscopedb");
        var options = new PyroscopeDbOptions();
        if (section["data_path"] is { Length: > 0 } path)
        {
            options.DataPath = path;
        }
        if (section["max_block_duration"] is { Length: > 0 } duration)
        {
            options.MaxBlockDuration = ParseDuration(duration, "pyroscopedb.max_block_duration");
        }
        if (section["max_head_bytes"] is { Length: > 0 } bytes)
        {
            options.MaxHeadBytes = long.Parse(bytes, CultureInfo.InvariantCulture);
        }
        if (section["wal_fsync"] is { Length: > 0 } fsync)
        {
            options.WalFsync = bool.Parse(fsync);
        }
        if (section["local_retention_after_upload"] is { Length: > 0 } keep)
        {
            options.LocalRetentionAfterUpload = ParseDuration(keep, "pyroscopedb.local_retention_after_upload");
        }
        return options;
    }

    /// <summary>Go-style durations: <c>1h</c>, <c>30m</c>, <c>1h30m</c>, <c>45s</c>, <c>500ms</c>, <c>7d</c>; a TimeSpan string works too.</summary>
    public static TimeSpan ParseDuration(string text, string what)
    {
        if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) && text.Contains(':'))
        {
            return span;
        }
        var total = TimeSpan.Zero;
        var i = 0;
        var any = false;
        while (i < text.Length)
        {
            var start = i;
            while (i < text.Length && (char.IsDigit(text[i]) || text[i] == '.'))
            {
                i++;
            }
            if (start == i || !double.TryParse(text.AsSpan(start, i - start), NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
            {
                throw new FormatException($"{what}: '{text}' is not a duration (e.g. 1h, 30m, 15s).");
            }
            var unitStart = i;
            while (i < text.Length && char.IsLetter(text[i]))
            {
                i++;
            }
            total += text[unitStart..i] switch
            {
                "ms" => TimeSpan.FromMilliseconds(number),
                "s" => TimeSpan.FromSeconds(number),
                "m" => TimeSpan.FromMinutes(number),
                "h" => TimeSpan.FromHours(number),
                "d" => TimeSpan.FromDays(number),
                "w" => TimeSpan.FromDays(7 * number),
                "y" => TimeSpan.FromDays(365 * number),
                "" when number == 0 => TimeSpan.Zero,
                _ => throw new FormatException($"{what}: '{text}' has an unknown unit (use ms, s, m, h, d, w, y)."),
            };
            any = true;
        }
        return any ? total : throw new FormatException($"{what}: empty duration.");
    }
}
