using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pyroscope.Storage.Blocks;
using Pyroscope.Storage.ObjectStore;

namespace Pyroscope.Storage.Reading;

public sealed class BlockStoreReaderOptions
{
    /// <summary>How long a tenant's block listing is reused. Ingesters keep uploaded blocks local for longer than this.</summary>
    public TimeSpan ListCacheDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Budget for cached symbols and samples across blocks; the least recently used blocks are dropped first.</summary>
    public long CacheBytes { get; set; } = 512L * 1024 * 1024;
}

/// <summary>
/// Reads the blocks of object storage. Metas are cached forever (blocks are immutable), the block
/// listing for a short time. A block is skipped when it carries a deletion mark or when another
/// block lists it among its compaction sources (the compacted block replaces it).
/// </summary>
public sealed class BlockStoreReader : SourceSetReader
{
    private readonly IObjectStore _store;
    private readonly BlockStoreReaderOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, BlockHandle> _blocks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (long AtTicks, IReadOnlyList<BlockHandle> Blocks)> _listings = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _marked = new(StringComparer.Ordinal);
    private readonly Lock _listingsLock = new();
    private long _generation;

    public BlockStoreReader(IObjectStore store, BlockStoreReaderOptions? options = null, TimeProvider? time = null, ILogger<BlockStoreReader>? logger = null)
    {
        _store = store;
        _options = options ?? new BlockStoreReaderOptions();
        _time = time ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    public IObjectStore Store => _store;

    /// <summary>Forgets the cached listing of a tenant (called after an upload in the same process).</summary>
    public void Invalidate(string tenantId)
    {
        lock (_listingsLock)
        {
            _generation++;
            _listings.TryRemove(tenantId, out _);
        }
    }

    /// <summary>
    /// Forgets every cached listing: blocks may have appeared that no earlier listing saw (an ingester reported that
    /// it left after uploading everything). Listings already running when this is called are not cached either, so
    /// every snapshot taken afterwards lists the store anew.
    /// </summary>
    public void InvalidateAll()
    {
        lock (_listingsLock)
        {
            _generation++;
            _listings.Clear();
        }
    }

    protected override async ValueTask<IReadOnlyList<ProfileSource>> GetSourcesAsync(string tenantId, CancellationToken cancellationToken) =>
        StoreCoverage.Sources(await GetBlocksAsync(tenantId, cancellationToken));

    /// <summary>
    /// The tenant's live blocks as of the current (possibly cached) listing, as a reader that never re-lists:
    /// a query that tells ingesters which blocks it reads from the store must read exactly those.
    /// </summary>
    public async ValueTask<BlockStoreSnapshot> SnapshotAsync(string tenantId, CancellationToken cancellationToken) =>
        new(tenantId, await GetBlocksAsync(tenantId, cancellationToken));

    /// <summary>The live blocks of a tenant: complete, not marked for deletion, not replaced by a compacted block.</summary>
    internal async ValueTask<IReadOnlyList<BlockHandle>> GetBlocksAsync(string tenantId, CancellationToken cancellationToken)
    {
        ValidateTenant(tenantId);
        var generation = Volatile.Read(ref _generation);
        var now = _time.GetTimestamp();
        if (_listings.TryGetValue(tenantId, out var cached) && _time.GetElapsedTime(cached.AtTicks, now) < _options.ListCacheDuration)
        {
            return cached.Blocks;
        }
        var names = await _store.ListAsync(tenantId + "/", cancellationToken);
        var candidates = new List<BlockHandle>();
        foreach (var name in names)
        {
            if (!name.EndsWith('/') || !Ulid.TryParse(name.AsSpan(0, name.Length - 1), out _))
            {
                continue;
            }
            var folder = tenantId + "/" + name;
            var handle = await GetHandleAsync(tenantId, folder, cancellationToken);
            if (handle is not null)
            {
                candidates.Add(handle);
            }
        }
        var replaced = new HashSet<string>(StringComparer.Ordinal);
        foreach (var block in candidates)
        {
            foreach (var source in block.Meta.Compaction.Sources)
            {
                if (source != block.Meta.Ulid)
                {
                    replaced.Add(source);
                }
            }
        }
        var live = new List<BlockHandle>(candidates.Count);
        foreach (var block in candidates)
        {
            if (!replaced.Contains(block.Meta.Ulid) && !await IsMarkedAsync(tenantId, block.Meta.Ulid, cancellationToken))
            {
                live.Add(block);
            }
        }
        lock (_listingsLock)
        {
            // A listing that began before an invalidation may have missed what the invalidation announced.
            if (_generation == generation)
            {
                _listings[tenantId] = (now, live);
            }
        }
        TrimCaches();
        return live;
    }

    private async ValueTask<BlockHandle?> GetHandleAsync(string tenantId, string folder, CancellationToken cancellationToken)
    {
        if (_blocks.TryGetValue(folder, out var existing))
        {
            return existing;
        }
        var metaBytes = await _store.GetAsync(folder + BlockFileNames.Meta, cancellationToken);
        if (metaBytes is null)
        {
            return null; // Upload in progress (meta.json is written last) or a leftover.
        }
        BlockMeta meta;
        try
        {
            meta = BlockMeta.Parse(metaBytes);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidDataException)
        {
            _logger.LogWarning(e, "Skipping block {Folder}: unreadable meta.json.", folder);
            return null;
        }
        return _blocks.GetOrAdd(folder, new BlockHandle(_store, tenantId, meta));
    }

    private async ValueTask<bool> IsMarkedAsync(string tenantId, string ulid, CancellationToken cancellationToken)
    {
        // A deletion mark is never removed while the block exists, so a positive answer is cached.
        var folder = tenantId + "/" + ulid + "/";
        if (_marked.ContainsKey(folder))
        {
            return true;
        }
        var names = await _store.ListAsync(folder, cancellationToken);
        foreach (var name in names)
        {
            if (name == BlockFileNames.DeletionMark)
            {
                _marked.TryAdd(folder, true);
                _blocks.TryRemove(folder, out _);
                return true;
            }
        }
        return false;
    }

    private void TrimCaches()
    {
        long total = 0;
        foreach (var block in _blocks.Values)
        {
            total += block.CachedBytes;
        }
        if (total <= _options.CacheBytes)
        {
            return;
        }
        var byAge = new List<BlockHandle>(_blocks.Values);
        byAge.Sort(static (a, b) => a.LastUsedTicks.CompareTo(b.LastUsedTicks));
        foreach (var block in byAge)
        {
            if (total <= _options.CacheBytes)
            {
                break;
            }
            total -= block.CachedBytes;
            block.DropCaches();
            total += block.CachedBytes;
        }
    }

    /// <summary>Refuses a tenant id that cannot be a storage folder name (empty, a path separator, . or ..).</summary>
    public static void ValidateTenant(string tenantId)
    {
        if (string.IsNullOrEmpty(tenantId) || tenantId.Contains('/') || tenantId.Contains('\\') || tenantId is "." or "..")
        {
            throw new ArgumentException($"Tenant id '{tenantId}' is not valid for storage.");
        }
    }
}
