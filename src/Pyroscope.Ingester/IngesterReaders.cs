using Pyroscope.Storage.Reading;

namespace Pyroscope.Ingester;

/// <summary>
/// What one ingester holds: its heads and its local blocks. With <c>includeUploaded: false</c> it serves only
/// data not yet in object storage, for a caller that reads the store but did not say which part of it. A caller
/// that reads one fixed store snapshot asks <see cref="Excluding"/> instead: then uploaded blocks count too, as
/// long as the snapshot does not cover them, which closes the window between an upload and the caller's listing.
/// </summary>
public sealed class IngesterReader : SourceSetReader
{
    private readonly IngesterEngine _engine;
    private readonly bool _includeUploaded;
    private readonly IReadOnlySet<string>? _covered;

    public IngesterReader(IngesterEngine engine, bool includeUploaded = false)
    {
        _engine = engine;
        _includeUploaded = includeUploaded;
    }

    private IngesterReader(IngesterEngine engine, IReadOnlySet<string> covered)
    {
        _engine = engine;
        _covered = covered;
    }

    /// <summary>
    /// A reader of every local block and head (uploaded or not) whose id is not in <paramref name="coveredBlockIds"/>:
    /// the ids of the store blocks the caller reads itself plus their compaction sources. Cheap; one per request.
    /// </summary>
    public IngesterReader Excluding(IReadOnlySet<string> coveredBlockIds) => new(_engine, coveredBlockIds);

    protected override ValueTask<IReadOnlyList<ProfileSource>> GetSourcesAsync(string tenantId, CancellationToken cancellationToken)
    {
        BlockStoreReader.ValidateTenant(tenantId);
        var snapshot = _engine.Snapshot(tenantId);
        var sources = new List<ProfileSource>(snapshot.Count);
        snapshot.AddSources(_covered, _includeUploaded, sources);
        return ValueTask.FromResult<IReadOnlyList<ProfileSource>>(sources);
    }
}

/// <summary>
/// The complete view for a process that runs the ingester and reads the store (the monolith). The ingester is
/// snapshotted first, then the store is listed; the store wins (storage's StoreCoverage). The current head
/// is never in the store.
/// </summary>
public sealed class CombinedReader(IngesterEngine engine, BlockStoreReader store) : SourceSetReader
{
    protected override async ValueTask<IReadOnlyList<ProfileSource>> GetSourcesAsync(string tenantId, CancellationToken cancellationToken)
    {
        BlockStoreReader.ValidateTenant(tenantId);
        var snapshot = engine.Snapshot(tenantId);
        var storeBlocks = await store.SnapshotAsync(tenantId, cancellationToken);
        var sources = new List<ProfileSource>(storeBlocks.BlockCount + snapshot.Count);
        foreach (var block in storeBlocks.Blocks)
        {
            sources.Add(ProfileSource.Of(block));
        }
        snapshot.AddSources(storeBlocks.CoveredBlockIds, includeUploaded: true, sources);
        return sources;
    }
}
