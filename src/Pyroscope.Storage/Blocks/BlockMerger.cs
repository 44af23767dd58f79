using Pyroscope.Storage.ObjectStore;

namespace Pyroscope.Storage.Blocks;

/// <summary>
/// Merges blocks of one tenant into one new block: symbols and stacks re-interned, a profile id seen in several
/// inputs (replicas) kept once. The result lists every input and the inputs' own sources, so readers drop the
/// inputs as soon as it exists, and sits one compaction level above the highest input.
/// </summary>
public static class BlockMerger
{
    public static async Task<MergedBlock> MergeAsync(IObjectStore store, string tenant, IReadOnlyList<BlockMeta> inputs, Ulid id, CancellationToken cancellationToken)
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
        return new MergedBlock(BlockWriter.Encode(merger.Target, tenant, id, level + 1, [.. sources]), merger.DuplicatesSkipped);
    }
}

/// <summary>A merged block, not yet written, and how many duplicate profiles the merge dropped.</summary>
public sealed record MergedBlock(EncodedBlock Block, int DuplicatesDropped);
