using Pyroscope.Storage.Ingestion;

namespace Pyroscope.Storage.Reading;

/// <summary>
/// What one ingester holds: its heads and its local blocks. With <c>includeUploaded: false</c> it serves
/// only data not yet in object storage (for a querier that reads the store itself).
/// </summary>
public sealed class IngesterReader(IngesterEngine engine, bool includeUploaded = false) : SourceSetReader
{
    private protected override ValueTask<IReadOnlyList<ProfileSource>> GetSourcesAsync(string tenantId, CancellationToken cancellationToken)
    {
        BlockStoreReader.ValidateTenant(tenantId);
        var snapshot = engine.Snapshot(tenantId);
        var sources = new List<ProfileSource>(snapshot.Blocks.Count + snapshot.Heads.Count);
        foreach (var (block, uploaded) in snapshot.Blocks)
        {
            if (includeUploaded || !uploaded)
            {
                sources.Add(new BlockSource(block));
            }
        }
        foreach (var head in snapshot.Heads)
        {
            sources.Add(new HeadSource(head));
        }
        return ValueTask.FromResult<IReadOnlyList<ProfileSource>>(sources);
    }
}

/// <summary>
/// The complete view for a process that runs the ingester and reads the store (the monolith).
/// Exactly-once rule: the ingester is snapshotted first, then the store is listed; the store wins.
/// Any ingester block or head whose id is a store block or a compaction source of one is skipped,
/// so a block counts once whether it is local, uploaded, or already compacted into a bigger block.
/// The current head is never in the store.
/// </summary>
public sealed class CombinedReader(IngesterEngine engine, BlockStoreReader store) : SourceSetReader
{
    private protected override async ValueTask<IReadOnlyList<ProfileSource>> GetSourcesAsync(string tenantId, CancellationToken cancellationToken)
    {
        BlockStoreReader.ValidateTenant(tenantId);
        var snapshot = engine.Snapshot(tenantId);
        var storeBlocks = await store.GetBlocksAsync(tenantId, cancellationToken);
        var covered = new HashSet<string>(StringComparer.Ordinal);
        var sources = new List<ProfileSource>(storeBlocks.Count + snapshot.Blocks.Count + snapshot.Heads.Count);
        foreach (var block in storeBlocks)
        {
            covered.Add(block.Meta.Ulid);
            foreach (var source in block.Meta.Compaction.Sources)
            {
                covered.Add(source);
            }
            sources.Add(new BlockSource(block));
        }
        foreach (var (block, _) in snapshot.Blocks)
        {
            if (!covered.Contains(block.Meta.Ulid))
            {
                sources.Add(new BlockSource(block));
            }
        }
        foreach (var head in snapshot.Heads)
        {
            if (!covered.Contains(head.BlockId.ToString()))
            {
                sources.Add(new HeadSource(head));
            }
        }
        return sources;
    }
}
