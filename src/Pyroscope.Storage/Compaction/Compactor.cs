using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pyroscope.Storage.Blocks;
using Pyroscope.Storage.Head;
using Pyroscope.Storage.Ingestion;
using Pyroscope.Storage.ObjectStore;

namespace Pyroscope.Storage.Compaction;

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
            options.BlocksRetentionPeriod = IngesterOptions.ParseDuration(retention, "compactor_blocks_retention_period");
        }
        var compactor = configuration.GetSection("compactor");
        if (compactor["deletion_delay"] is { Length: > 0 } delay)
        {
            options.DeletionDelay = IngesterOptions.ParseDuration(delay, "compactor.deletion_delay");
        }
        if (compactor["compaction_interval"] is { Length: > 0 } interval)
        {
            options.Interval = IngesterOptions.ParseDuration(interval, "compactor.compaction_interval");
        }
        if (compactor["compaction_window"] is { Length: > 0 } window)
        {
            options.CompactionWindow = IngesterOptions.ParseDuration(window, "compactor.compaction_window");
        }
        if (compactor["consistency_delay"] is { Length: > 0 } consistency)
        {
            options.MinBlockAge = IngesterOptions.ParseDuration(consistency, "compactor.consistency_delay");
        }
        return options;
    }
}

/// <summary>
/// Keeps a tenant's blocks few and within retention. Safe while queries read: a compacted block
/// lists its inputs (transitively) as sources, so readers drop the inputs as soon as it exists;
/// inputs and expired blocks get a deletion mark and are removed only after <see cref="CompactorOptions.DeletionDelay"/>.
/// </summary>
public sealed class Compactor(IObjectStore store, CompactorOptions options, TimeProvider? time = null, ILogger<Compactor>? logger = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ILogger _logger = (ILogger?)logger ?? NullLogger.Instance;

    /// <summary>Per-tenant retention override (tenant → period; zero keeps everything).</summary>
    public Func<string, TimeSpan>? RetentionForTenant { get; set; }

    public async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        foreach (var folder in await store.ListAsync("", cancellationToken))
        {
            if (!folder.EndsWith('/'))
            {
                continue;
            }
            var tenant = folder.TrimEnd('/');
            try
            {
                await RunTenantAsync(tenant, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _logger.LogError(e, "Compaction of tenant {Tenant} failed; retrying next round.", tenant);
            }
        }
    }

    public async Task RunTenantAsync(string tenant, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var blocks = await ListBlocksAsync(tenant, cancellationToken);

        // 1. Delete blocks whose deletion mark is old enough.
        foreach (var block in blocks)
        {
            if (block.MarkedAt is { } markedAt && now - markedAt >= options.DeletionDelay)
            {
                await DeleteBlockAsync(tenant, block.Meta.Ulid, cancellationToken);
                _logger.LogInformation("Deleted block {Block} of tenant {Tenant}.", block.Meta.Ulid, tenant);
            }
        }
        var unmarked = blocks.FindAll(static b => b.MarkedAt is null);

        // 2. Mark blocks replaced by a compacted block (a compaction that stopped before marking).
        var replaced = new HashSet<string>(StringComparer.Ordinal);
        foreach (var block in unmarked)
        {
            foreach (var source in block.Meta.Compaction.Sources)
            {
                if (source != block.Meta.Ulid)
                {
                    replaced.Add(source);
                }
            }
        }
        foreach (var block in unmarked)
        {
            if (replaced.Contains(block.Meta.Ulid))
            {
                await MarkAsync(tenant, block.Meta.Ulid, "compacted", cancellationToken);
            }
        }
        var live = unmarked.FindAll(b => !replaced.Contains(b.Meta.Ulid));

        // 3. Retention.
        var retention = RetentionForTenant?.Invoke(tenant) ?? options.BlocksRetentionPeriod;
        if (retention > TimeSpan.Zero)
        {
            var cutoff = (now - retention).ToUnixTimeMilliseconds();
            foreach (var block in live.FindAll(b => b.Meta.MaxTimeMs < cutoff))
            {
                await MarkAsync(tenant, block.Meta.Ulid, "retention", cancellationToken);
                live.Remove(block);
                _logger.LogInformation("Block {Block} of tenant {Tenant} is past retention; marked for deletion.", block.Meta.Ulid, tenant);
            }
        }

        // 4. Compact blocks sharing a time window.
        var windowMs = (long)options.CompactionWindow.TotalMilliseconds;
        var groups = new Dictionary<long, List<BlockMeta>>();
        foreach (var block in live)
        {
            if (now - block.Meta.Id.Time < options.MinBlockAge)
            {
                continue;
            }
            var window = Math.DivRem(block.Meta.MinTimeMs, windowMs, out var rem) - (rem < 0 ? 1 : 0);
            if (!groups.TryGetValue(window, out var list))
            {
                groups[window] = list = [];
            }
            list.Add(block.Meta);
        }
        foreach (var group in groups.Values)
        {
            if (group.Count >= 2)
            {
                await CompactAsync(tenant, group, cancellationToken);
            }
        }
    }

    private async Task CompactAsync(string tenant, List<BlockMeta> inputs, CancellationToken cancellationToken)
    {
        var merger = new TableMerger();
        var sources = new SortedSet<string>(StringComparer.Ordinal);
        var level = 0;
        foreach (var meta in inputs)
        {
            var handle = new BlockHandle(store, tenant, meta);
            var index = await handle.GetIndexAsync(cancellationToken);
            var symbols = await handle.GetSymbolsAsync(cancellationToken);
            var all = new List<int>(index.Series.Count);
            for (var s = 0; s < index.Series.Count; s++)
            {
                all.Add(s);
            }
            var samples = await handle.GetSamplesAsync(index, all, cancellationToken);
            merger.Add(symbols, index.Series, index.Profiles, samples);
            sources.Add(meta.Ulid);
            sources.UnionWith(meta.Compaction.Sources);
            level = Math.Max(level, meta.Compaction.Level);
        }
        var id = Ulid.NewUlid(_time.GetUtcNow());
        var block = BlockWriter.Encode(merger.Target, tenant, id, level + 1, [.. sources]);
        await IngesterEngine.WriteBlockAsync(store, tenant, block, cancellationToken);
        foreach (var meta in inputs)
        {
            await MarkAsync(tenant, meta.Ulid, "compacted", cancellationToken);
        }
        _logger.LogInformation("Compacted {Count} blocks of tenant {Tenant} into {Block} ({Profiles} profiles, {Duplicates} duplicates dropped).",
            inputs.Count, tenant, id, block.Meta.Stats.NumProfiles, merger.DuplicatesSkipped);
    }

    private async Task<List<(BlockMeta Meta, DateTimeOffset? MarkedAt)>> ListBlocksAsync(string tenant, CancellationToken cancellationToken)
    {
        var result = new List<(BlockMeta, DateTimeOffset?)>();
        foreach (var name in await store.ListAsync(tenant + "/", cancellationToken))
        {
            if (!name.EndsWith('/') || !Ulid.TryParse(name.AsSpan(0, name.Length - 1), out _))
            {
                continue;
            }
            var folder = tenant + "/" + name;
            var metaBytes = await store.GetAsync(folder + BlockFileNames.Meta, cancellationToken);
            var markBytes = await store.GetAsync(folder + BlockFileNames.DeletionMark, cancellationToken);
            DateTimeOffset? markedAt = markBytes is null ? null : DeletionMark.Parse(markBytes).DeletionTime;
            if (metaBytes is null)
            {
                if (markedAt is not null)
                {
                    // A deletion that stopped half way: finish it.
                    await store.DeleteFolderAsync(folder, cancellationToken);
                }
                continue;
            }
            result.Add((BlockMeta.Parse(metaBytes), markedAt));
        }
        return result;
    }

    private Task MarkAsync(string tenant, string ulid, string reason, CancellationToken cancellationToken)
    {
        var mark = new DeletionMark { Id = ulid, DeletionTime = _time.GetUtcNow(), Reason = reason };
        return store.PutAsync(tenant + "/" + ulid + "/" + BlockFileNames.DeletionMark, JsonSerializer.SerializeToUtf8Bytes(mark), cancellationToken);
    }

    private async Task DeleteBlockAsync(string tenant, string ulid, CancellationToken cancellationToken)
    {
        var folder = tenant + "/" + ulid + "/";
        // meta.json first (readers ignore a block without it), the mark last (it makes a retry finish the job).
        await store.DeleteAsync(folder + BlockFileNames.Meta, cancellationToken);
        foreach (var name in await store.ListAsync(folder, cancellationToken))
        {
            if (name != BlockFileNames.DeletionMark)
            {
                await store.DeleteAsync(folder + name, cancellationToken);
            }
        }
        await store.DeleteAsync(folder + BlockFileNames.DeletionMark, cancellationToken);
    }

    private sealed class DeletionMark
    {
        [JsonPropertyName("id")] public string Id { get; set; } = "";
        [JsonPropertyName("deletion_time")] public DateTimeOffset DeletionTime { get; set; }
        [JsonPropertyName("reason")] public string Reason { get; set; } = "";

        public static DeletionMark Parse(byte[] json) => JsonSerializer.Deserialize<DeletionMark>(json) ?? new DeletionMark();
    }
}
