using System.Globalization;
using Microsoft.Extensions.Configuration;
using Pyroscope.Model;

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
            options.MaxBlockDuration = DurationText.Parse(duration, "pyroscopedb.max_block_duration");
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
            options.LocalRetentionAfterUpload = DurationText.Parse(keep, "pyroscopedb.local_retention_after_upload");
        }
        return options;
    }
}
