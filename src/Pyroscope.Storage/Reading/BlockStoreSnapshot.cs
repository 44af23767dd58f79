using Pyroscope.Model;
using Pyroscope.Storage.Blocks;

namespace Pyroscope.Storage.Reading;

/// <summary>
/// One listing of a tenant's live store blocks, fixed for the duration of a query. Reading it never lists the
/// store again, so the blocks read are exactly those whose ids the query reports as covered to the ingesters
/// (<see cref="CoveredBlockIds"/>); a block uploaded meanwhile is answered by its ingester instead.
/// </summary>
public sealed class BlockStoreSnapshot : SourceSetReader
{
    private readonly IReadOnlyList<BlockHandle> _blocks;
    private HashSet<string>? _covered;

    internal BlockStoreSnapshot(string tenantId, IReadOnlyList<BlockHandle> blocks)
    {
        TenantId = tenantId;
        _blocks = blocks;
    }

    public string TenantId { get; }

    public int BlockCount => _blocks.Count;

    /// <summary>The live blocks of this listing, for a reader that combines them with sources of its own.</summary>
    public IReadOnlyList<BlockHandle> Blocks => _blocks;

    /// <summary>Every block id whose data this snapshot holds: each block's own id and its compaction sources.</summary>
    public IReadOnlySet<string> CoveredBlockIds => _covered ??= StoreCoverage.Of(_blocks, range: null);

    /// <summary>
    /// The covered ids that matter to a read of <paramref name="range"/>: those of blocks overlapping it. A block
    /// holds every profile of the blocks it covers, so its time span contains theirs: data of a covered block that
    /// overlaps the range is always covered by a snapshot block that overlaps it too.
    /// </summary>
    public IReadOnlySet<string> CoveredBlockIdsOverlapping(TimeRange range) => StoreCoverage.Of(_blocks, range);

    protected override ValueTask<IReadOnlyList<ProfileSource>> GetSourcesAsync(string tenantId, CancellationToken cancellationToken)
    {
        if (!string.Equals(tenantId, TenantId, StringComparison.Ordinal))
        {
            throw new ArgumentException($"This store snapshot holds tenant '{TenantId}', not '{tenantId}'.");
        }
        return ValueTask.FromResult<IReadOnlyList<ProfileSource>>(StoreCoverage.Sources(_blocks));
    }
}
