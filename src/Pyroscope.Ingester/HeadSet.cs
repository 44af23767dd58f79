using Pyroscope.Storage;
using Pyroscope.Storage.Head;
using Pyroscope.Storage.Wal;

namespace Pyroscope.Ingester;

/// <summary>
/// The head generation being written (one head per tenant), the generations cut but not yet flushed, and the WAL they
/// are logged in. A push is logged first and appended to its head only once the WAL made it durable, so a write that
/// fails leaves no trace; it is appended to the generation whose WAL segment holds its record even when a cut
/// happened while it waited, and a cut generation is flushed only once those appends are done. So every WAL segment
/// belongs to exactly one cut and is released (<see cref="Release"/>) once that cut's blocks are durable.
/// </summary>
/// <param name="state">Guards the head lists; shared with <see cref="LocalBlocks"/> so a snapshot sees each cut once, as heads or as blocks.</param>
/// <param name="sizeReached">Called (once per generation) by the append that takes the heads to <see cref="PyroscopeDbOptions.MaxHeadBytes"/>.</param>
internal sealed class HeadSet(WriteAheadLog wal, PyroscopeDbOptions options, TimeProvider time, object state, Action? sizeReached = null)
{
    private readonly object _enqueue = new();
    private readonly List<HeadCut> _cuts = [];
    private HeadCut _current = new(time);

    /// <summary>
    /// A record up to this size is appended by the WAL's writer thread right after its sync (<see cref="InlineAppend"/>);
    /// a larger one by the push's own task, so that one big profile's append does not hold every other push's sync.
    /// </summary>
    private const int InlineAppendMaxRecordBytes = 64 * 1024;

    /// <summary>
    /// Logs <paramref name="walRecord"/>, then (once durable) calls <paramref name="append"/> with the tenant's head of the
    /// generation the record belongs to. A WAL failure is thrown (<see cref="WalWriteException"/>) without appending.
    /// </summary>
    public async Task LogThenAppendAsync(string tenantId, ReadOnlyMemory<byte> walRecord, Action<TenantHead> append)
    {
        HeadCut generation;
        TenantHead head;
        Task durable;
        InlineAppend? inline = null;
        lock (_enqueue)
        {
            generation = _current;
            head = HeadOf(generation, tenantId);
            if (walRecord.Length <= InlineAppendMaxRecordBytes)
            {
                inline = new InlineAppend(head, append);
            }
            durable = wal.AppendAsync(walRecord, inline is null ? null : inline.Run);
            generation.BeginAppend();
        }
        try
        {
            await durable.ConfigureAwait(false);
            if (inline is { Done: true })
            {
                inline.Error?.Throw();
            }
            else
            {
                await head.AppendGate.WaitAsync().ConfigureAwait(false);
                try
                {
                    append(head);
                }
                finally
                {
                    head.AppendGate.Release();
                }
            }
            generation.Appended();
            // Checked per append, not only by the flush loop: between two of its rounds a busy ingester takes hundreds of MB.
            if (sizeReached is not null && AtSizeBound(generation) && generation.MarkSizeReached())
            {
                sizeReached();
            }
        }
        finally
        {
            generation.EndAppend();
        }
    }

    /// <summary>
    /// A small push's head append, run by the WAL's writer thread between the sync and the push's completion: the push's
    /// continuation then only answers, instead of queueing on the head behind the rest of its batch. When the head is
    /// busy (another push's append, a large one perhaps, or a query reading it) the append is left to the push's own
    /// task: the writer never waits on one tenant, whose query would otherwise hold up every tenant's acknowledgements.
    /// </summary>
    private sealed class InlineAppend(TenantHead head, Action<TenantHead> append)
    {
        public bool Done { get; private set; }

        public System.Runtime.ExceptionServices.ExceptionDispatchInfo? Error { get; private set; }

        public void Run()
        {
            if (!head.AppendGate.Wait(0))
            {
                return;
            }
            try
            {
                Done = head.TryAppendWithoutWaiting(append);
            }
            catch (Exception e)
            {
                Error = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e);
                Done = true;
            }
            finally
            {
                head.AppendGate.Release();
            }
        }
    }

    /// <summary>Appends to the current generation what is in the WAL already (replay).</summary>
    public void Append(string tenantId, Action<TenantHead> append)
    {
        TenantHead head;
        lock (_enqueue)
        {
            head = HeadOf(_current, tenantId);
        }
        append(head);
        _current.Appended();
    }

    private TenantHead HeadOf(HeadCut generation, string tenantId)
    {
        if (generation.Heads.TryGetValue(tenantId, out var head))
        {
            return head;
        }
        lock (state)
        {
            head = new TenantHead(tenantId, Ulid.NewUlid(time.GetUtcNow()));
            generation.Heads = new Dictionary<string, TenantHead>(generation.Heads, StringComparer.Ordinal) { [tenantId] = head };
            return head;
        }
    }

    /// <summary>The heads being written now, for metrics; a copy-on-write map, safe to enumerate.</summary>
    public IReadOnlyDictionary<string, TenantHead> Current => Volatile.Read(ref _current).Heads;

    /// <summary>Heads cut and not yet written as blocks.</summary>
    public int PendingCuts
    {
        get
        {
            lock (state)
            {
                return _cuts.Count;
            }
        }
    }

    /// <summary>Whether the heads are old or big enough to be cut.</summary>
    public bool CutDue()
    {
        var current = Volatile.Read(ref _current);
        var first = current.FirstAppendTicks;
        if (first == 0)
        {
            return false;
        }
        if (time.GetUtcNow().UtcTicks - first >= options.MaxBlockDuration.Ticks)
        {
            return true;
        }
        return AtSizeBound(current);
    }

    private bool AtSizeBound(HeadCut generation) => generation.EstimatedBytes() >= options.MaxHeadBytes;

    /// <summary>Freezes the current heads (they stay queryable) and starts new ones and a new WAL segment.</summary>
    public void Cut()
    {
        lock (_enqueue)
        {
            lock (state)
            {
                if (_current.Heads.Count == 0)
                {
                    return;
                }
                _current.Close(wal.Rotate());
                _cuts.Add(_current);
                Volatile.Write(ref _current, new HeadCut(time));
            }
        }
    }

    /// <summary>The oldest cut not yet flushed; cuts are flushed in order.</summary>
    public HeadCut? OldestCut()
    {
        lock (state)
        {
            return _cuts.Count == 0 ? null : _cuts[0];
        }
    }

    /// <summary>Drops the oldest cut; the caller holds the state lock and publishes the cut's blocks in the same step.</summary>
    public void RemoveOldestCut() => _cuts.RemoveAt(0);

    /// <summary>Releases the WAL segments of a cut whose blocks are durable.</summary>
    public void Release(HeadCut cut) => wal.Checkpoint(cut.ClosedSegment);

    /// <summary>The tenant's cut heads, then its current head; the caller holds the state lock.</summary>
    public void AddHeadsOf(string tenantId, List<TenantHead> into)
    {
        foreach (var cut in _cuts)
        {
            if (cut.Heads.TryGetValue(tenantId, out var head))
            {
                into.Add(head);
            }
        }
        if (_current.Heads.TryGetValue(tenantId, out var current))
        {
            into.Add(current);
        }
    }
}

/// <summary>
/// One head generation: a head per tenant, the WAL segment it is logged in (known once cut), and the appends still
/// waiting for the WAL, which a flush waits for (<see cref="Settled"/>).
/// </summary>
internal sealed class HeadCut(TimeProvider time)
{
    private readonly TaskCompletionSource _settled = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _inFlight;
    private int _sizeReached;
    private bool _closed;
    private long _firstAppendTicks;

    /// <summary>Copy-on-write: replaced under the state lock, read without it.</summary>
    public Dictionary<string, TenantHead> Heads { get; set; } = new(StringComparer.Ordinal);

    public long ClosedSegment { get; private set; }

    public long FirstAppendTicks => Interlocked.Read(ref _firstAppendTicks);

    /// <summary>Completes once the generation is cut and no append into it is in flight: its heads no longer change.</summary>
    public Task Settled => _settled.Task;

    public long EstimatedBytes()
    {
        long bytes = 0;
        foreach (var head in Heads.Values)
        {
            bytes += head.EstimatedBytes;
        }
        return bytes;
    }

    /// <summary>True the first time only: the generation reached its size bound.</summary>
    public bool MarkSizeReached() => Interlocked.Exchange(ref _sizeReached, 1) == 0;

    public void BeginAppend() => Interlocked.Increment(ref _inFlight);

    public void Appended() => Interlocked.CompareExchange(ref _firstAppendTicks, time.GetUtcNow().UtcTicks, 0);

    public void EndAppend()
    {
        if (Interlocked.Decrement(ref _inFlight) == 0 && Volatile.Read(ref _closed))
        {
            _settled.TrySetResult();
        }
    }

    /// <summary>Called under the enqueue lock, so no append can begin after it.</summary>
    public void Close(long closedSegment)
    {
        ClosedSegment = closedSegment;
        Volatile.Write(ref _closed, true);
        if (Volatile.Read(ref _inFlight) == 0)
        {
            _settled.TrySetResult();
        }
    }
}
