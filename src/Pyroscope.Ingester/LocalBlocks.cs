using System.Text;
using Pyroscope.Storage;
using Pyroscope.Storage.Blocks;
using Pyroscope.Storage.ObjectStore;

namespace Pyroscope.Ingester;

/// <summary>
/// The ingester's blocks on local disk (<c>local/&lt;tenant&gt;/&lt;ULID&gt;/</c>): written from cut heads, uploaded to
/// object storage with exponential backoff while it is down, kept for <see cref="PyroscopeDbOptions.LocalRetentionAfterUpload"/>
/// after their upload (longer than readers cache block listings), then deleted. An <c>uploaded</c> marker file records
/// the upload, so a restart neither uploads twice nor forgets a block.
/// </summary>
/// <param name="state">Guards the block list; shared with <see cref="HeadSet"/> (see there).</param>
internal sealed class LocalBlocks(FileSystemObjectStore local, IObjectStore? remote, PyroscopeDbOptions db, IngesterOptions options,
    TimeProvider time, ILogger logger, object state, Action<string, Ulid> uploaded)
{
    private const string UploadedMarker = "uploaded";

    private readonly List<LocalBlock> _blocks = [];
    private int _uploadFailures;
    private DateTimeOffset _nextUploadAttempt = DateTimeOffset.MinValue;

    /// <summary>Whether the backoff after a failed upload is over.</summary>
    public bool UploadDue => time.GetUtcNow() >= _nextUploadAttempt;

    /// <summary>
    /// Takes over the blocks a previous run left on disk. A block written by a cut whose WAL segments were not
    /// released yet (<paramref name="walCheckpoint"/>) is deleted: the WAL replay recreates its data.
    /// </summary>
    public async Task LoadAsync(long walCheckpoint, CancellationToken cancellationToken)
    {
        foreach (var tenantFolder in await local.ListAsync("", cancellationToken))
        {
            if (!tenantFolder.EndsWith('/'))
            {
                continue;
            }
            var tenant = tenantFolder.TrimEnd('/');
            foreach (var blockFolder in await local.ListAsync(tenantFolder, cancellationToken))
            {
                var folder = tenantFolder + blockFolder;
                var metaBytes = await local.GetAsync(folder + BlockFileNames.Meta, cancellationToken);
                BlockMeta? meta = null;
                try
                {
                    meta = metaBytes is null ? null : BlockMeta.Parse(metaBytes);
                }
                catch (System.Text.Json.JsonException)
                {
                }
                if (meta is null || meta.WalSegment > walCheckpoint)
                {
                    logger.LogInformation("Removing incomplete local block {Folder}; its data is replayed from the WAL.", folder);
                    await local.DeleteFolderAsync(folder, cancellationToken);
                    continue;
                }
                var marker = await local.GetAsync(folder + UploadedMarker, cancellationToken);
                DateTimeOffset? uploadedAt = marker is null ? null
                    : DateTimeOffset.TryParse(Encoding.UTF8.GetString(marker), null, System.Globalization.DateTimeStyles.RoundtripKind, out var at) ? at : time.GetUtcNow();
                _blocks.Add(new LocalBlock(tenant, new BlockHandle(local, tenant, meta)) { UploadedAt = uploadedAt });
            }
        }
    }

    /// <summary>Writes cut heads as local blocks, oldest cut first, then releases the cut's WAL segments.</summary>
    public async Task FlushAsync(HeadSet heads, CancellationToken cancellationToken)
    {
        while (heads.OldestCut() is { } cut)
        {
            // Pushes logged before the cut may still be appending (their WAL write completed just now).
            await cut.Settled.WaitAsync(cancellationToken);
            var written = new List<LocalBlock>();
            foreach (var head in cut.Heads.Values)
            {
                if (head.ProfileCount == 0)
                {
                    continue; // every push into it failed to reach the WAL
                }
                var block = head.EncodeBlock();
                block.Meta.WalSegment = cut.ClosedSegment;
                await block.WriteToAsync(local, cancellationToken);
                written.Add(new LocalBlock(head.TenantId, new BlockHandle(local, head.TenantId, block.Meta)));
                logger.LogInformation("Flushed head of tenant {Tenant} to block {Block}: {Profiles} profiles, {Bytes} bytes.",
                    head.TenantId, head.BlockId, head.ProfileCount, block.Index.Length + block.Symbols.Length + block.Samples.Length);
            }
            lock (state)
            {
                heads.RemoveOldestCut();
                _blocks.AddRange(written);
            }
            heads.Release(cut);
        }
    }

    /// <summary>Uploads local blocks not yet in object storage. Returns false when some upload failed (retried later with backoff).</summary>
    public async Task<bool> UploadAsync(CancellationToken cancellationToken)
    {
        if (remote is null)
        {
            return true;
        }
        List<LocalBlock> todo;
        lock (state)
        {
            todo = _blocks.FindAll(static b => b.UploadedAt is null);
        }
        foreach (var block in todo)
        {
            try
            {
                var folder = block.Tenant + "/" + block.Handle.Meta.Ulid + "/";
                foreach (var file in block.Handle.Meta.Files)
                {
                    var bytes = await local.GetAsync(folder + file.Name, cancellationToken)
                        ?? throw new FileNotFoundException($"Local block file {folder}{file.Name} is missing.");
                    await remote.PutAsync(folder + file.Name, bytes, cancellationToken);
                }
                await remote.PutAsync(folder + BlockFileNames.Meta, block.Handle.Meta.ToJson(), cancellationToken);
                var now = time.GetUtcNow();
                await local.PutAsync(folder + UploadedMarker, Encoding.UTF8.GetBytes(now.ToString("O")), cancellationToken);
                block.UploadedAt = now;
                _uploadFailures = 0;
                uploaded(block.Tenant, block.Handle.Meta.Id);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                _uploadFailures++;
                var backoff = TimeSpan.FromSeconds(Math.Min(options.MaxUploadBackoff.TotalSeconds, Math.Pow(2, Math.Min(_uploadFailures, 16))));
                _nextUploadAttempt = time.GetUtcNow() + backoff;
                logger.LogWarning(e, "Uploading block {Block} of tenant {Tenant} failed ({Failures} in a row); the block stays local, next try in {Backoff}.",
                    block.Handle.Meta.Ulid, block.Tenant, _uploadFailures, backoff);
                return false;
            }
        }
        return true;
    }

    /// <summary>Deletes local copies of blocks uploaded longer ago than the local retention.</summary>
    public async Task CleanupAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        List<LocalBlock> expired;
        lock (state)
        {
            expired = _blocks.FindAll(b => b.UploadedAt is { } at && now - at >= db.LocalRetentionAfterUpload);
            foreach (var block in expired)
            {
                _blocks.Remove(block);
            }
        }
        foreach (var block in expired)
        {
            await local.DeleteFolderAsync(block.Tenant + "/" + block.Handle.Meta.Ulid + "/", cancellationToken);
        }
    }

    /// <summary>The tenant's blocks and whether each is uploaded; the caller holds the state lock.</summary>
    public void AddBlocksOf(string tenantId, List<(BlockHandle Block, bool Uploaded)> into)
    {
        foreach (var block in _blocks)
        {
            if (block.Tenant == tenantId)
            {
                into.Add((block.Handle, block.UploadedAt is not null));
            }
        }
    }

    public List<string> Ids()
    {
        lock (state)
        {
            return _blocks.ConvertAll(static b => b.Handle.Meta.Ulid);
        }
    }

    private sealed class LocalBlock(string tenant, BlockHandle handle)
    {
        public string Tenant { get; } = tenant;

        public BlockHandle Handle { get; } = handle;

        public DateTimeOffset? UploadedAt { get; set; }
    }
}
