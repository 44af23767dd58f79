using Pyroscope.Model;
using Pyroscope.Storage.Blocks;

namespace Pyroscope.Storage.Reading;

/// <summary>
/// The store's part of the exactly-once rule between object storage and an ingester: the store wins, and any ingester
/// head or local block whose id is a store block's id or one of its compaction sources is left out, so a block
/// counts once whether it is local, uploaded, or already compacted into a bigger block. The ingester applies the
/// covered ids to its own heads and blocks (Pyroscope.Ingester's IngesterSnapshot).
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

    public static List<ProfileSource> Sources(IReadOnlyList<BlockHandle> blocks)
    {
        var sources = new List<ProfileSource>(blocks.Count);
        foreach (var block in blocks)
        {
            sources.Add(new BlockSource(block));
        }
        return sources;
    }
}
