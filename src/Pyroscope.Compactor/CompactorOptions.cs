using Microsoft.Extensions.Configuration;
using Pyroscope.Model;

namespace Pyroscope.Compactor;

/// <summary>The <c>compactor</c> config section, plus <c>limits.compactor_blocks_retention_period</c> as the default retention.</summary>
public sealed class CompactorOptions
{
    /// <summary>Blocks whose newest profile is older than this are deleted; zero keeps everything (upstream <c>compactor_blocks_retention_period</c>).</summary>
    public TimeSpan BlocksRetentionPeriod { get; set; }

    /// <summary>Time between a deletion mark and the actual deletion, so running queries finish reading (upstream <c>deletion_delay</c>).</summary>
    public TimeSpan DeletionDelay { get; set; } = TimeSpan.FromHours(12);

    /// <summary>Blocks are compacted together when they fall into the same window of this length.</summary>
    public TimeSpan CompactionWindow { get; set; } = TimeSpan.FromHours(2);

    /// <summary>
    /// Blocks younger than this (by ULID time) are left alone while ingesters may still serve them
    /// (upstream <c>compactor.consistency_delay</c>).
    /// </summary>
    public TimeSpan MinBlockAge { get; set; } = TimeSpan.FromMinutes(5);

    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(30);

    public static CompactorOptions From(IConfiguration configuration)
    {
        var options = new CompactorOptions();
        var retention = configuration.GetSection("limits")["compactor_blocks_retention_period"] ?? configuration.GetSection("compactor")["blocks_retention_period"];
        if (retention is { Length: > 0 })
        {
            options.BlocksRetentionPeriod = DurationText.Parse(retention, "compactor_blocks_retention_period");
        }
        var compactor = configuration.GetSection("compactor");
        if (compactor["deletion_delay"] is { Length: > 0 } delay)
        {
            options.DeletionDelay = DurationText.Parse(delay, "compactor.deletion_delay");
        }
        if (compactor["compaction_interval"] is { Length: > 0 } interval)
        {
            options.Interval = DurationText.Parse(interval, "compactor.compaction_interval");
        }
        if (compactor["compaction_window"] is { Length: > 0 } window)
        {
            options.CompactionWindow = DurationText.Parse(window, "compactor.compaction_window");
        }
        if (compactor["consistency_delay"] is { Length: > 0 } consistency)
        {
            options.MinBlockAge = DurationText.Parse(consistency, "compactor.consistency_delay");
        }
        return options;
    }
}
