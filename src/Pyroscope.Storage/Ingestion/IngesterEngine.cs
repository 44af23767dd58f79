using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Model;
using Pyroscope.Storage.Blocks;
using Pyroscope.Storage.Codec;
using Pyroscope.Storage.Head;
using Pyroscope.Storage.ObjectStore;
using Pyroscope.Storage.Reading;
using Pyroscope.Storage.Wal;

namespace Pyroscope.Storage.Ingestion;

/// <summary>
/// The ingester's storage: per-tenant heads fed by pushes, a WAL that makes every acknowledged push
/// durable, head cuts into local blocks, uploads to object storage with retry, and local cleanup.
/// Life of data: WAL + head → (cut) pending → local block (WAL segments checkpointed) → uploaded
/// (kept locally a little longer) → only in object storage.
/// </summary>
public sealed class IngesterEngine : IAsyncDisposable
{
    private const string UploadedMarker = "uploaded";

    private readonly IngesterOptions _options;
    private readonly IObjectStore? _remote;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly FileSystemObjectStore _localStore;
    private readonly ReaderWriterLockSlim _cutLock = new(LockRecursionPolicy.NoRecursion);
    private readonly object _stateLock = new();
    private readonly List<PendingCut> _pending = [];
    private readonly List<LocalBlock> _local = [];
    private readonly SemaphoreSlim _maintenance = new(1, 1);
    private readonly ConcurrentDictionary<string, ActiveSeries> _activeSeries = new(StringComparer.Ordinal);
    private WriteAheadLog _wal = null!;
    private Dictionary<string, TenantHead> _heads = new(StringComparer.Ordinal);
    private long _generationFirstAppendTicks;
    private int _uploadFailures;
    private DateTimeOffset _nextUploadAttempt = DateTimeOffset.MinValue;

    private IngesterEngine(IngesterOptions options, IObjectStore? remote, TimeProvider time, ILogger logger)
    {
        _options = options;
        _remote = remote;
        _time = time;
        _logger = logger;
        _localStore = new FileSystemObjectStore(Path.Combine(options.DataPath, "local"));
    }

    /// <summary>Raised after a block of the tenant reached object storage.</summary>
    public event Action<string, Ulid>? BlockUploaded;

    public IngesterOptions Options => _options;

    /// <summary>Each tenant's active-series limit; null (the default) enforces none.</summary>
    public ISeriesLimits? SeriesLimits { get; set; }

    /// <summary>Series of the tenant that received a profile within <see cref="IngesterOptions.ActiveSeriesTimeout"/>.</summary>
    public int ActiveSeriesCount(string tenantId) => _activeSeries.TryGetValue(tenantId, out var active) ? active.Count : 0;

    public static async Task<IngesterEngine> OpenAsync(IngesterOptions options, IObjectStore? remote, TimeProvider? time = null, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        var engine = new IngesterEngine(options, remote, time ?? TimeProvider.System, logger ?? NullLogger.Instance);
        await engine.StartAsync(cancellationToken);
        return engine;
    }

    private async Task StartAsync(CancellationToken cancellationToken)
    {
        _wal = WriteAheadLog.Open(Path.Combine(_options.DataPath, "wal"), _options.WalFsync, _logger, out var replay);
        await ScanLocalBlocksAsync(_wal.LastCheckpoint, cancellationToken);
        long records = 0, profiles = 0;
        foreach (var segment in replay)
        {
            foreach (var record in WriteAheadLog.ReadSegment(Path.Combine(_options.DataPath, "wal"), segment, _logger))
            {
                records++;
                try
                {
                    var (tenant, request) = DecodeRecord(record);
                    var labels = LabelsOf(request);
                    // Arrival times are not in the WAL; a profile's own time (never later than now) stands in for
                    // it, so series idle for long before the restart do not count again for a full timeout.
                    ActiveSeriesOf(tenant).Track(labels, Math.Min(_time.GetUtcNow().UtcTicks, NewestProfileTicks(request)));
                    profiles += AppendToHead(tenant, request, labels);
                }
                catch (Exception e) when (e is InvalidDataException or ArgumentException or Google.Protobuf.InvalidProtocolBufferException or ZstdSharp.ZstdException)
                {
                    _logger.LogWarning(e, "Skipping an unreadable WAL record in segment {Segment}.", segment);
                }
            }
        }
        if (records > 0)
        {
            _logger.LogInformation("Replayed {Records} WAL records ({Profiles} profiles) from {Segments} segments.", records, profiles, replay.Count);
        }
    }

    /// <summary>Stores a push; completes once it is in the WAL (synced when fsync is on) and visible to queries.</summary>
    public async Task PushAsync(string tenantId, PushRequest request, CancellationToken cancellationToken)
    {
        BlockStoreReader.ValidateTenant(tenantId);
        // Everything that can refuse the push runs before the WAL or the head see any of it.
        var labels = LabelsOf(request);
        AdmitSeries(tenantId, labels);
        var payload = EncodeRecord(tenantId, request);
        Task durable;
        _cutLock.EnterReadLock();
        try
        {
            AppendToHead(tenantId, request, labels);
            durable = _wal.AppendAsync(payload);
        }
        finally
        {
            _cutLock.ExitReadLock();
        }
        await durable.WaitAsync(cancellationToken);
    }

    /// <summary>The labels of every series, validated (a bad one refuses the whole push with an <see cref="ArgumentException"/>).</summary>
    private static LabelSet[] LabelsOf(PushRequest request)
    {
        var labels = new LabelSet[request.Series.Count];
        for (var i = 0; i < labels.Length; i++)
        {
            labels[i] = TenantHead.ToLabelSet(request.Series[i]);
        }
        return labels;
    }

    private ActiveSeries ActiveSeriesOf(string tenantId) =>
        _activeSeries.GetOrAdd(tenantId, static _ => new ActiveSeries());

    private void AdmitSeries(string tenantId, LabelSet[] labels)
    {
        var refusal = ActiveSeriesOf(tenantId).TryAdmit(labels, _time.GetUtcNow().UtcTicks, SeriesLimits, tenantId);
        if (refusal is { } r)
        {
            throw new SeriesLimitExceededException(SeriesLimitExceededException.Describe(tenantId, r.Active, r.New, r.Limit.Effective, r.Limit.Source()));
        }
    }

    private static long NewestProfileTicks(PushRequest request)
    {
        long newestNanos = 0;
        foreach (var series in request.Series)
        {
            newestNanos = Math.Max(newestNanos, series.Profile?.TimeNanos ?? 0);
        }
        return newestNanos > 0 ? DateTime.UnixEpoch.Ticks + newestNanos / 100 : long.MaxValue;
    }

    /// <summary>Forgets series that have been idle longer than the active-series timeout.</summary>
    public void RemoveIdleSeries()
    {
        var cutoff = _time.GetUtcNow().UtcTicks - _options.ActiveSeriesTimeout.Ticks;
        foreach (var (_, active) in _activeSeries)
        {
            active.RemoveIdle(cutoff);
        }
    }

    private int AppendToHead(string tenantId, PushRequest request, LabelSet[] labels)
    {
        TenantHead? head;
        lock (_stateLock)
        {
            if (!_heads.TryGetValue(tenantId, out head))
            {
                head = new TenantHead(tenantId, Ulid.NewUlid(_time.GetUtcNow()));
                _heads = new Dictionary<string, TenantHead>(_heads, StringComparer.Ordinal) { [tenantId] = head };
            }
        }
        var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var appended = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            if (head.Append(request.Series[i], labels[i], nowMs))
            {
                appended++;
            }
        }
        Interlocked.CompareExchange(ref _generationFirstAppendTicks, _time.GetUtcNow().UtcTicks, 0);
        return appended;
    }

    /// <summary>Whether the head is old or big enough to be cut.</summary>
    public bool CutDue()
    {
        var first = Interlocked.Read(ref _generationFirstAppendTicks);
        if (first == 0)
        {
            return false;
        }
        if (_time.GetUtcNow().UtcTicks - first >= _options.MaxBlockDuration.Ticks)
        {
            return true;
        }
        long bytes = 0;
        foreach (var head in Volatile.Read(ref _heads).Values)
        {
            bytes += head.EstimatedBytes;
        }
        return bytes >= _options.MaxHeadBytes;
    }

    /// <summary>Freezes the current heads (they stay queryable) and starts new ones and a new WAL segment.</summary>
    public void Cut()
    {
        _cutLock.EnterWriteLock();
        try
        {
            lock (_stateLock)
            {
                if (_heads.Count == 0)
                {
                    return;
                }
                var closed = _wal.Rotate();
                _pending.Add(new PendingCut([.. _heads.Values], closed));
                _heads = new Dictionary<string, TenantHead>(StringComparer.Ordinal);
                Interlocked.Exchange(ref _generationFirstAppendTicks, 0);
            }
        }
        finally
        {
            _cutLock.ExitWriteLock();
        }
    }

    /// <summary>Writes cut heads as local blocks, oldest first, then releases their WAL segments.</summary>
    public async Task FlushPendingAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            PendingCut cut;
            lock (_stateLock)
            {
                if (_pending.Count == 0)
                {
                    return;
                }
                cut = _pending[0];
            }
            var written = new List<LocalBlock>();
            foreach (var head in cut.Heads)
            {
                if (head.ProfileCount == 0)
                {
                    continue;
                }
                // The head is frozen: the cut took the write lock, so no append is in flight.
                var block = BlockWriter.Encode(head.Tables, head.TenantId, head.BlockId, level: 1, sources: [head.BlockId.ToString()]);
                block.Meta.WalSegment = cut.ClosedSegment;
                await WriteBlockAsync(_localStore, head.TenantId, block, cancellationToken);
                written.Add(new LocalBlock(head.TenantId, new BlockHandle(_localStore, head.TenantId, block.Meta)));
                _logger.LogInformation("Flushed head of tenant {Tenant} to block {Block}: {Profiles} profiles, {Bytes} bytes.",
                    head.TenantId, head.BlockId, head.ProfileCount, block.Index.Length + block.Symbols.Length + block.Samples.Length);
            }
            lock (_stateLock)
            {
                _pending.RemoveAt(0);
                _local.AddRange(written);
            }
            _wal.Checkpoint(cut.ClosedSegment);
        }
    }

    /// <summary>Uploads local blocks not yet in object storage. Returns false when some upload failed (retried later with backoff).</summary>
    public async Task<bool> UploadPendingAsync(CancellationToken cancellationToken)
    {
        if (_remote is null)
        {
            return true;
        }
        List<LocalBlock> todo;
        lock (_stateLock)
        {
            todo = _local.FindAll(static b => b.UploadedAt is null);
        }
        foreach (var block in todo)
        {
            try
            {
                var folder = block.Tenant + "/" + block.Handle.Meta.Ulid + "/";
                foreach (var file in block.Handle.Meta.Files)
                {
                    var bytes = await _localStore.GetAsync(folder + file.Name, cancellationToken)
                        ?? throw new FileNotFoundException($"Local block file {folder}{file.Name} is missing.");
                    await _remote.PutAsync(folder + file.Name, bytes, cancellationToken);
                }
                await _remote.PutAsync(folder + BlockFileNames.Meta, block.Handle.Meta.ToJson(), cancellationToken);
                var now = _time.GetUtcNow();
                await _localStore.PutAsync(folder + UploadedMarker, Encoding.UTF8.GetBytes(now.ToString("O")), cancellationToken);
                block.UploadedAt = now;
                _uploadFailures = 0;
                BlockUploaded?.Invoke(block.Tenant, block.Handle.Meta.Id);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                _uploadFailures++;
                var backoff = TimeSpan.FromSeconds(Math.Min(_options.MaxUploadBackoff.TotalSeconds, Math.Pow(2, Math.Min(_uploadFailures, 16))));
                _nextUploadAttempt = _time.GetUtcNow() + backoff;
                _logger.LogWarning(e, "Uploading block {Block} of tenant {Tenant} failed ({Failures} in a row); the block stays local, next try in {Backoff}.",
                    block.Handle.Meta.Ulid, block.Tenant, _uploadFailures, backoff);
                return false;
            }
        }
        return true;
    }

    /// <summary>Deletes local copies of blocks uploaded longer ago than the local retention.</summary>
    public async Task CleanupAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        List<LocalBlock> expired;
        lock (_stateLock)
        {
            expired = _local.FindAll(b => b.UploadedAt is { } at && now - at >= _options.LocalRetentionAfterUpload);
            foreach (var block in expired)
            {
                _local.Remove(block);
            }
        }
        foreach (var block in expired)
        {
            await _localStore.DeleteFolderAsync(block.Tenant + "/" + block.Handle.Meta.Ulid + "/", cancellationToken);
        }
    }

    /// <summary>One pass of the flush loop: cut when due, write blocks, upload (respecting backoff), clean up.</summary>
    public async Task RunMaintenanceAsync(CancellationToken cancellationToken)
    {
        await _maintenance.WaitAsync(cancellationToken);
        try
        {
            RemoveIdleSeries();
            if (CutDue())
            {
                Cut();
            }
            await FlushPendingAsync(cancellationToken);
            if (_time.GetUtcNow() >= _nextUploadAttempt)
            {
                await UploadPendingAsync(cancellationToken);
            }
            await CleanupAsync(cancellationToken);
        }
        finally
        {
            _maintenance.Release();
        }
    }

    /// <summary>Graceful shutdown: cut everything into local blocks and try one upload.</summary>
    public async Task ShutdownAsync(CancellationToken cancellationToken)
    {
        await _maintenance.WaitAsync(cancellationToken);
        try
        {
            Cut();
            await FlushPendingAsync(cancellationToken);
            await UploadPendingAsync(cancellationToken);
        }
        finally
        {
            _maintenance.Release();
        }
    }

    /// <summary>What the ingester holds for a tenant right now, newest last; each profile is in exactly one entry.</summary>
    internal IngesterSnapshot Snapshot(string tenantId)
    {
        var heads = new List<TenantHead>();
        var blocks = new List<(BlockHandle Block, bool Uploaded)>();
        lock (_stateLock)
        {
            foreach (var block in _local)
            {
                if (block.Tenant == tenantId)
                {
                    blocks.Add((block.Handle, block.UploadedAt is not null));
                }
            }
            foreach (var cut in _pending)
            {
                foreach (var head in cut.Heads)
                {
                    if (head.TenantId == tenantId)
                    {
                        heads.Add(head);
                    }
                }
            }
            if (_heads.TryGetValue(tenantId, out var current))
            {
                heads.Add(current);
            }
        }
        return new IngesterSnapshot(heads, blocks);
    }

    internal IReadOnlyList<string> LocalBlockIds()
    {
        lock (_stateLock)
        {
            return _local.ConvertAll(static b => b.Handle.Meta.Ulid);
        }
    }

    private async Task ScanLocalBlocksAsync(long checkpoint, CancellationToken cancellationToken)
    {
        foreach (var tenantFolder in await _localStore.ListAsync("", cancellationToken))
        {
            if (!tenantFolder.EndsWith('/'))
            {
                continue;
            }
            var tenant = tenantFolder.TrimEnd('/');
            foreach (var blockFolder in await _localStore.ListAsync(tenantFolder, cancellationToken))
            {
                var folder = tenantFolder + blockFolder;
                var metaBytes = await _localStore.GetAsync(folder + BlockFileNames.Meta, cancellationToken);
                BlockMeta? meta = null;
                try
                {
                    meta = metaBytes is null ? null : BlockMeta.Parse(metaBytes);
                }
                catch (System.Text.Json.JsonException)
                {
                }
                if (meta is null || meta.WalSegment > checkpoint)
                {
                    // Written by a cut whose WAL segments were not released yet: the replay recreates it.
                    _logger.LogInformation("Removing incomplete local block {Folder}; its data is replayed from the WAL.", folder);
                    await _localStore.DeleteFolderAsync(folder, cancellationToken);
                    continue;
                }
                var marker = await _localStore.GetAsync(folder + UploadedMarker, cancellationToken);
                DateTimeOffset? uploadedAt = marker is null ? null
                    : DateTimeOffset.TryParse(Encoding.UTF8.GetString(marker), null, System.Globalization.DateTimeStyles.RoundtripKind, out var at) ? at : _time.GetUtcNow();
                _local.Add(new LocalBlock(tenant, new BlockHandle(_localStore, tenant, meta)) { UploadedAt = uploadedAt });
            }
        }
    }

    internal static async Task WriteBlockAsync(IObjectStore store, string tenant, EncodedBlock block, CancellationToken cancellationToken)
    {
        var folder = tenant + "/" + block.Meta.Ulid + "/";
        foreach (var (name, data) in block.DataFiles())
        {
            await store.PutAsync(folder + name, data, cancellationToken);
        }
        await store.PutAsync(folder + BlockFileNames.Meta, block.Meta.ToJson(), cancellationToken);
    }

    [ThreadStatic]
    private static ZstdSharp.Compressor? t_walCompressor;

    // Record payload: string tenant | byte codec (1 = zstd level 1) | PushRequest bytes (compressed).
    // zstd-1 shrinks raw pprof several times at hundreds of MB/s, so the WAL writes and fsyncs less.
    private const byte CodecZstd = 1;

    private static byte[] EncodeRecord(string tenantId, PushRequest request)
    {
        var raw = Google.Protobuf.MessageExtensions.ToByteArray(request);
        var compressor = t_walCompressor ??= new ZstdSharp.Compressor(1);
        var compressed = compressor.Wrap(raw);
        using var writer = new ByteWriter(compressed.Length + tenantId.Length * 3 + 16);
        writer.WriteString(tenantId);
        writer.WriteByte(CodecZstd);
        writer.WriteBytes(compressed);
        return writer.WrittenSpan.ToArray();
    }

    private static (string Tenant, PushRequest Request) DecodeRecord(byte[] record)
    {
        var reader = new ByteReader(record);
        var tenant = reader.ReadString();
        var codec = reader.ReadByte();
        if (codec != CodecZstd)
        {
            throw new InvalidDataException($"WAL record uses unknown codec {codec}.");
        }
        var request = PushRequest.Parser.ParseFrom(Zstd.Decompress(record.AsSpan(reader.Position)));
        return (tenant, request);
    }

    public async ValueTask DisposeAsync()
    {
        if (_wal is not null)
        {
            await _wal.DisposeAsync();
        }
    }

    private sealed record PendingCut(List<TenantHead> Heads, long ClosedSegment);

    private sealed class LocalBlock(string tenant, BlockHandle handle)
    {
        public string Tenant { get; } = tenant;

        public BlockHandle Handle { get; } = handle;

        public DateTimeOffset? UploadedAt { get; set; }
    }
}

internal sealed record IngesterSnapshot(List<TenantHead> Heads, List<(BlockHandle Block, bool Uploaded)> Blocks);
