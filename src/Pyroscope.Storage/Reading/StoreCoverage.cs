using Pyroscope.Model;
using Pyroscope.Storage.Blocks;
using Pyroscope.Storage.Ingestion;

namespace Pyroscope.Storage.Reading;

/// <summary>
/// The exactly-once rule between object storage and an ingester, in one place: the store wins, and any ingester
/// head or local block whose id is a store block's id or one of its compaction sources is left out, so a block
/// counts once whether it is local, uploaded, or already compacted into a bigger block.
/// </summary>
internal static class StoreCoverage
{
    /// <summary>The ids covered by <paramref name="blocks"/> (only those overlapping <paramref name="range"/> when given).</summary>
    public static HashSet<string> Of(IReadOnlyList<BlockHandle> blocks, TimeRange? range)
    {
        var covered = new HashSet<string>(StringComparer.Ordinal);
        foreach (var block in blocks)
        {
            var meta = block.Meta;
            if (range is { } r && (meta.MinTimeMs > meta.MaxTimeMs || !r.Overlaps(meta.MinTimeMs, meta.MaxTimeMs)))
            {
                continue;
            }
            covered.Add(meta.Ulid);
            foreach (var source in meta.Compaction.Sources)
            {
                covered.Add(source);
            }
        }
        return covered;
    }

    public static List<ProfileSource> Sources(IReadOnlyList<BlockHandle> blocks, int extraCapacity = 0)
    {
        var sources = new List<ProfileSource>(blocks.Count + extraCapacity);
        foreach (var block in blocks)
        {
            sources.Add(new BlockSource(block));
        }
        return sources;
    }

    /// <summary>
    /// Adds the ingester's part of a read to <paramref name="sources"/>. With a <paramref name="covered"/> set: every
    /// local block (uploaded or not) and head it does not cover. Without one: heads plus blocks not yet uploaded
    /// (or all blocks when <paramref name="includeUploaded"/>), for a reader that does not know the store's content.
    /// </summary>
    public static void AddIngesterSources(IngesterSnapshot snapshot, IReadOnlySet<string>? covered, bool includeUploaded, List<ProfileSource> sources)
    {
        foreach (var (block, uploaded) in snapshot.Blocks)
        {
            if (covered is null ? includeUploaded || !uploaded : !covered.Contains(block.Meta.Ulid))
            {
                sources.Add(new BlockSource(block));
            }
        }
        foreach (var head in snapshot.Heads)
        {
            if (covered is null || !covered.Contains(head.BlockId.ToString()))
            {
                sources.Add(new HeadSource(head));
            }
        }
    }
}
