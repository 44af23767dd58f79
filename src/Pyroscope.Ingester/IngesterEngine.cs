using Microsoft.Extensions.Logging.Abstractions;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Storage;
using Pyroscope.Storage.Blocks;
using Pyroscope.Storage.Head;
using Pyroscope.Storage.ObjectStore;
using Pyroscope.Storage.Reading;
using Pyroscope.Storage.Wal;

namespace Pyroscope.Ingester;

/// <summary>
/// The ingester, as the gRPC service, the local client and the readers call it. Life of data: WAL + head → (cut)
/// frozen head → local block (WAL segments released) → uploaded (kept locally a little longer) → only in object
/// storage. The parts: <see cref="SeriesAdmission"/>, <see cref="WalRecordCodec"/>, <see cref="WalReplay"/>,
/// <see cref="HeadSet"/>, <see cref="LocalBlocks"/>. Constructing it does no I/O; <see cref="StartAsync"/> opens and
/// replays the WAL (<see cref="IngesterLifecycle"/> calls it), and until then pushes and reads are refused with
/// <see cref="IngesterStartingException"/>.
/// </summary>
public sealed class IngesterEngine : IAsyncDisposable
{
    private readonly PyroscopeDbOptions _db;
    private readonly IngesterOptions _options;
    private readonly IObjectStore? _remote;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SeriesAdmission _series;
    private readonly SemaphoreSlim _maintenance = new(1, 1);
    private readonly object _state = new();
    private WriteAheadLog? _wal;
    private StartedParts? _started;

    public IngesterEngine(PyroscopeDbOptions db, IngesterOptions? options, IObjectStore? remote, TimeProvider? time = null, ILogger? logger = null)
    {
        _db = db;
        _options = options ?? new IngesterOptions();
        _remote = remote;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _series = new SeriesAdmission(_options, _time);
    }

    /// <summary>Raised after a block of the tenant reached object storage.</summary>
    public event Action<string, Ulid>? BlockUploaded;

    public IngesterOptions Options => _options;

    /// <summary>Each tenant's active-series limit; null (the default) enforces none.</summary>
    public ISeriesLimits? SeriesLimits
    {
        get => _series.Limits;
        set => _series.Limits = value;
    }

    /// <summary>Whether the WAL is replayed and pushes and reads are served.</summary>
    public bool IsStarted => Volatile.Read(ref _started) is not null;

    /// <summary>Series of the tenant that received a profile within <see cref="IngesterOptions.ActiveSeriesTimeout"/>.</summary>
    public int ActiveSeriesCount(string tenantId) => _series.ActiveCount(tenantId);

    /// <summary>Opens the WAL, takes over the local blocks of a previous run and replays what they do not hold.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_wal is not null)
        {
            throw new InvalidOperationException("The ingester is started already.");
        }
        var walDirectory = Path.Combine(_db.DataPath, "wal");
        _wal = WriteAheadLog.Open(walDirectory, _db.WalFsync, _logger, out var replay);
        var heads = new HeadSet(_wal, _db, _time, _state);
        var blocks = new LocalBlocks(new FileSystemObjectStore(Path.Combine(_db.DataPath, "local")), _remote, _db, _options, _time, _logger, _state,
            (tenant, block) => BlockUploaded?.Invoke(tenant, block));
        await blocks.LoadAsync(_wal.LastCheckpoint, cancellationToken);
        WalReplay.Run(walDirectory, replay, heads, _series, _time, _logger);
        Volatile.Write(ref _started, new StartedParts(heads, blocks));
    }

    /// <summary>Stores a push; completes once it is in the WAL (synced when fsync is on) and visible to queries.</summary>
    public async Task PushAsync(string tenantId, PushRequest request, CancellationToken cancellationToken)
    {
        var started = Started();
        BlockStoreReader.ValidateTenant(tenantId);
        // Everything that can refuse the push runs before the WAL or the head see any of it.
        var labels = SeriesAdmission.LabelsOf(request);
        _series.Admit(tenantId, labels);
        var record = WalRecordCodec.Encode(tenantId, request);
        await started.Heads.AppendAndLogAsync(tenantId, request, labels, record).WaitAsync(cancellationToken);
    }

    /// <summary>Forgets series that have been idle longer than the active-series timeout.</summary>
    public void RemoveIdleSeries() => _series.RemoveIdle();

    /// <summary>Whether the head is old or big enough to be cut.</summary>
    public bool CutDue() => Started().Heads.CutDue();

    /// <summary>Freezes the current heads (they stay queryable) and starts new ones and a new WAL segment.</summary>
    public void Cut() => Started().Heads.Cut();

    /// <summary>Writes cut heads as local blocks, oldest first, then releases their WAL segments.</summary>
    public Task FlushPendingAsync(CancellationToken cancellationToken)
    {
        var started = Started();
        return started.Blocks.FlushAsync(started.Heads, cancellationToken);
    }

    /// <summary>Uploads local blocks not yet in object storage. Returns false when some upload failed (retried later with backoff).</summary>
    public Task<bool> UploadPendingAsync(CancellationToken cancellationToken) => Started().Blocks.UploadAsync(cancellationToken);

    /// <summary>Deletes local copies of blocks uploaded longer ago than the local retention.</summary>
    public Task CleanupAsync(CancellationToken cancellationToken) => Started().Blocks.CleanupAsync(cancellationToken);

    /// <summary>One pass of the flush loop: cut when due, write blocks, upload (respecting backoff), clean up.</summary>
    public async Task RunMaintenanceAsync(CancellationToken cancellationToken)
    {
        var started = Started();
        await _maintenance.WaitAsync(cancellationToken);
        try
        {
            RemoveIdleSeries();
            if (started.Heads.CutDue())
            {
                started.Heads.Cut();
            }
            await started.Blocks.FlushAsync(started.Heads, cancellationToken);
            if (started.Blocks.UploadDue)
            {
                await started.Blocks.UploadAsync(cancellationToken);
            }
            await started.Blocks.CleanupAsync(cancellationToken);
        }
        finally
        {
            _maintenance.Release();
        }
    }

    /// <summary>
    /// Graceful shutdown: cut everything into local blocks and try one upload. Returns whether everything is now in
    /// object storage (false when never started: the WAL was not even read).
    /// </summary>
    public async Task<bool> ShutdownAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _started) is not { } started)
        {
            return false;
        }
        await _maintenance.WaitAsync(cancellationToken);
        try
        {
            started.Heads.Cut();
            await started.Blocks.FlushAsync(started.Heads, cancellationToken);
            return await started.Blocks.UploadAsync(cancellationToken);
        }
        finally
        {
            _maintenance.Release();
        }
    }

    /// <summary>What the ingester holds for a tenant right now, newest last; each profile is in exactly one entry.</summary>
    internal IngesterSnapshot Snapshot(string tenantId)
    {
        var started = Started();
        var heads = new List<TenantHead>();
        var blocks = new List<(BlockHandle Block, bool Uploaded)>();
        lock (_state)
        {
            started.Blocks.AddBlocksOf(tenantId, blocks);
            started.Heads.AddHeadsOf(tenantId, heads);
        }
        return new IngesterSnapshot(heads, blocks);
    }

    internal IReadOnlyList<string> LocalBlockIds() => Started().Blocks.Ids();

    private StartedParts Started() => Volatile.Read(ref _started) ?? throw new IngesterStartingException();

    public async ValueTask DisposeAsync()
    {
        if (_wal is not null)
        {
            await _wal.DisposeAsync();
        }
    }

    /// <summary>The parts that exist once the WAL is open and replayed.</summary>
    private sealed record StartedParts(HeadSet Heads, LocalBlocks Blocks);
}
