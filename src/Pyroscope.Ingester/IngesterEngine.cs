using Pyroscope.Ingester.Client;
using Microsoft.Extensions.Logging.Abstractions;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Model;
using Pyroscope.Model.Ingest;
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
    private readonly IngesterMetrics _metrics;
    private DataDirectoryLock? _lock;
    private WriteAheadLog? _wal;
    private StartedParts? _started;
    private TaskCompletionSource _maintenanceRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IngesterEngine(PyroscopeDbOptions db, IngesterOptions? options, IObjectStore? remote, TimeProvider? time = null, ILogger? logger = null,
        System.Diagnostics.Metrics.IMeterFactory? meterFactory = null)
    {
        _db = db;
        _options = options ?? new IngesterOptions();
        _remote = remote;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _series = new SeriesAdmission(_options, _time);
        _metrics = new IngesterMetrics(this, meterFactory);
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

    /// <summary>
    /// Locks the data directory (waiting while another process holds it), opens the WAL, takes over the local blocks of
    /// a previous run and replays what they do not hold.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_lock is not null)
        {
            throw new InvalidOperationException("The ingester is started already.");
        }
        _lock = await DataDirectoryLock.AcquireAsync(_db.DataPath, _options.DataDirectoryLockTimeout, _time, _logger, cancellationToken);
        var walDirectory = Path.Combine(_db.DataPath, "wal");
        _wal = WriteAheadLog.Open(walDirectory, _db.WalFsync, _logger, out var replay);
        _wal.SyncObserved = _metrics.Synced;
        TenantHead.ReuseSampleChunksUpTo(_db.MaxHeadBytes);
        var heads = new HeadSet(_wal, _db, _time, _state, RequestMaintenance);
        var blocks = new LocalBlocks(new FileSystemObjectStore(Path.Combine(_db.DataPath, "local")), _remote, _db, _options, _time, _logger, _state,
            (tenant, block) => BlockUploaded?.Invoke(tenant, block));
        await blocks.LoadAsync(_wal.LastCheckpoint, cancellationToken);
        WalReplay.Run(walDirectory, replay, heads, _series, _time, _logger);
        Volatile.Write(ref _started, new StartedParts(heads, blocks));
    }

    /// <summary>The WAL once started: its bytes, failures and whether it refuses writes (<see cref="WriteAheadLog.Failure"/>).</summary>
    public WriteAheadLog? Wal => Volatile.Read(ref _started) is null ? null : _wal;

    /// <summary>The heads being written, by tenant (empty before the start).</summary>
    public IReadOnlyDictionary<string, TenantHead> CurrentHeads => Volatile.Read(ref _started)?.Heads.Current ?? new Dictionary<string, TenantHead>();

    /// <summary>Heads cut and not yet written as blocks.</summary>
    public int PendingCuts => Volatile.Read(ref _started)?.Heads.PendingCuts ?? 0;

    /// <summary>
    /// Stores a push; completes once it is in the WAL (synced when fsync is on) and visible to queries. A push the WAL
    /// cannot take fails with a <see cref="WalWriteException"/> and leaves nothing in the head.
    /// </summary>
    public async Task PushAsync(string tenantId, PushRequest request, CancellationToken cancellationToken)
    {
        try
        {
            await PushCoreAsync(tenantId, request, cancellationToken);
        }
        catch (Exception e) when (e is WalWriteException or SeriesLimitExceededException or IngesterStartingException)
        {
            _metrics.Refused(IngesterMetrics.ReasonOf(e), tenantId);
            throw;
        }
    }

    /// <summary>
    /// Stores a push normalised in this process (<see cref="IIngesterClient"/> of the monolith): the WAL logs its
    /// profiles as received, the head takes its normalised series. Completes once it is in the WAL (synced when fsync
    /// is on) and visible to queries; the caller keeps <paramref name="push"/> alive until then. Once admitted, the
    /// push is not abandoned on cancellation: the append still reads the push's pooled memory when the WAL answers.
    /// </summary>
    public async Task PushAsync(string tenantId, IngestPush push, CancellationToken cancellationToken)
    {
        try
        {
            var started = Started();
            BlockStoreReader.ValidateTenant(tenantId);
            cancellationToken.ThrowIfCancellationRequested();
            var series = SeriesOf(push);
            var labels = new LabelSet[series.Count];
            for (var i = 0; i < labels.Length; i++)
            {
                labels[i] = series[i].Series.Labels;
            }
            _series.Admit(tenantId, labels);
            // Returned to the pool once the WAL answered: awaited to the end, never abandoned while queued.
            using var record = WalRecordCodec.Encode(tenantId, push);
            var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
            await started.Heads.LogThenAppendAsync(tenantId, record.Bytes, head => head.Append(series, nowMs));
        }
        catch (Exception e) when (e is WalWriteException or SeriesLimitExceededException or IngesterStartingException)
        {
            _metrics.Refused(IngesterMetrics.ReasonOf(e), tenantId);
            throw;
        }
    }

    /// <summary>The push's series in order, or those at <paramref name="indexes"/> (the ones the ring placed here).</summary>
    internal static List<(NormalizedProfile Profile, NormalizedSeries Series)> SeriesOf(IngestPush push, IReadOnlyList<int>? indexes = null)
    {
        var series = new List<(NormalizedProfile, NormalizedSeries)>(push.SeriesCount);
        foreach (var profile in push.Profiles)
        {
            if (profile.Normalized is { } normalized)
            {
                foreach (var one in normalized.Series)
                {
                    series.Add((normalized, one));
                }
            }
        }
        if (indexes is null)
        {
            return series;
        }
        var selected = new List<(NormalizedProfile, NormalizedSeries)>(indexes.Count);
        foreach (var index in indexes)
        {
            if (index < 0 || index >= series.Count)
            {
                throw new InvalidDataException($"the push has {series.Count} series; series index {index} does not exist");
            }
            selected.Add(series[index]);
        }
        return selected;
    }

    /// <summary>Appends a logged push again (WAL replay); returns how many series were new.</summary>
    internal static int AppendReplayed(TenantHead head, List<(NormalizedProfile Profile, NormalizedSeries Series)> series, long nowMs) => head.Append(series, nowMs);

    /// <summary>
    /// A push as a distributor in another process received it: normalised here as the distributor did, the series the
    /// ring placed here stored, and the received body logged as it came.
    /// </summary>
    private async Task PushReceivedAsync(string tenantId, PushRequest request)
    {
        var started = Started();
        BlockStoreReader.ValidateTenant(tenantId);
        // The request's own bytes: the received payloads are read from them, not from a copy.
        var body = request.Received.Memory;
        var received = WalRecordCodec.DecodeBody(body, request.ReceivedSeries);
        using var push = ReceivedPushNormalizer.Normalize(received);
        var series = SeriesOf(push, received.Series);
        var labels = new LabelSet[series.Count];
        for (var i = 0; i < labels.Length; i++)
        {
            labels[i] = series[i].Series.Labels;
        }
        _series.Admit(tenantId, labels);
        using var record = WalRecordCodec.Encode(tenantId, request.ReceivedSeries, body.Span);
        var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        // Not abandoned on cancellation: the append reads the push's pooled memory, and the WAL the record, until it answers.
        await started.Heads.LogThenAppendAsync(tenantId, record.Bytes, head => head.Append(series, nowMs));
    }

    private async Task PushCoreAsync(string tenantId, PushRequest request, CancellationToken cancellationToken)
    {
        if (!request.Received.IsEmpty)
        {
            await PushReceivedAsync(tenantId, request);
            return;
        }
        var started = Started();
        BlockStoreReader.ValidateTenant(tenantId);
        // Everything that can refuse the push runs before the WAL or the head see any of it.
        var labels = SeriesAdmission.LabelsOf(request);
        _series.Admit(tenantId, labels);
        var record = WalRecordCodec.Encode(tenantId, request);
        var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        await started.Heads.LogThenAppendAsync(tenantId, record, head => AppendSeries(head, request, labels, nowMs)).WaitAsync(cancellationToken);
    }

    /// <summary>Appends each series; returns how many were new (a replica or a retry with the same id is not).</summary>
    internal static int AppendSeries(TenantHead head, PushRequest request, LabelSet[] labels, long nowMs)
    {
        var appended = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            if (head.Append(request.Series[i], labels[i], nowMs))
            {
                appended++;
            }
        }
        return appended;
    }

    /// <summary>
    /// Completes when maintenance should run before its next round: the heads reached max_head_bytes. The flush loop
    /// (<see cref="IngesterLifecycle"/>) waits for this or its timer, whichever comes first.
    /// </summary>
    public Task MaintenanceRequested => Volatile.Read(ref _maintenanceRequested).Task;

    private void RequestMaintenance() => Volatile.Read(ref _maintenanceRequested).TrySetResult();

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

    /// <summary>How long the sample chunks of flushed heads are kept for new heads when none of them asks for one.</summary>
    private static readonly TimeSpan UnusedSampleChunksKeptFor = TimeSpan.FromMinutes(5);

    /// <summary>One pass of the flush loop: cut when due, write blocks, upload (respecting backoff), clean up.</summary>
    public async Task RunMaintenanceAsync(CancellationToken cancellationToken)
    {
        var started = Started();
        await _maintenance.WaitAsync(cancellationToken);
        try
        {
            // A request that arrives from here on is for heads this round does not see: it stays set for the next one.
            Interlocked.Exchange(ref _maintenanceRequested, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            RemoveIdleSeries();
            if (started.Heads.CutDue())
            {
                started.Heads.Cut();
            }
            var pending = started.Heads.PendingCuts;
            await started.Blocks.FlushAsync(started.Heads, cancellationToken);
            if (pending > 0 && started.Heads.PendingCuts < pending)
            {
                // A flushed head is up to max_head_bytes of large arrays that only a gen-2 collection frees; left to the
                // GC's own budget they stay beside the next head, and the process holds two heads instead of one.
                GC.Collect(2, GCCollectionMode.Forced, blocking: false);
            }
            if (started.Blocks.UploadDue)
            {
                await started.Blocks.UploadAsync(cancellationToken);
            }
            await started.Blocks.CleanupAsync(cancellationToken);
            TenantHead.DropSampleChunksUnusedFor(UnusedSampleChunksKeptFor);
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
        _lock?.Dispose();
        _metrics.Dispose();
    }

    /// <summary>The parts that exist once the WAL is open and replayed.</summary>
    private sealed record StartedParts(HeadSet Heads, LocalBlocks Blocks);
}
