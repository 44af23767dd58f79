using Pyroscope.Storage.Blocks;
using Pyroscope.Storage.Head;
using Pyroscope.Storage.Reading;

namespace Pyroscope.Ingester;

/// <summary>What the ingester holds for a tenant at one moment, newest last; each profile is in exactly one entry.</summary>
internal sealed record IngesterSnapshot(List<TenantHead> Heads, List<(BlockHandle Block, bool Uploaded)> Blocks)
{
    public int Count => Heads.Count + Blocks.Count;

    /// <summary>
    /// Adds the ingester's part of a read to <paramref name="sources"/>, leaving out what the store answers (the
    /// store wins, see storage's StoreCoverage). With a <paramref name="covered"/> set (the ids of the store blocks the
    /// caller reads and their compaction sources): every local block (uploaded or not) and head it does not cover.
    /// Without one: heads plus blocks not yet uploaded (or all blocks when <paramref name="includeUploaded"/>), for a
    /// reader that does not know the store's content.
    /// </summary>
    public void AddSources(IReadOnlySet<string>? covered, bool includeUploaded, List<ProfileSource> sources)
    {
        foreach (var (block, uploaded) in Blocks)
        {
            if (covered is null ? includeUploaded || !uploaded : !covered.Contains(block.Meta.Ulid))
            {
                sources.Add(ProfileSource.Of(block));
            }
        }
        foreach (var head in Heads)
        {
            if (covered is null || !covered.Contains(head.BlockId.ToString()))
            {
                sources.Add(ProfileSource.Of(head));
            }
        }
    }
}
