using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Model;
using Pyroscope.Storage;
using Pyroscope.Storage.Head;
using Pyroscope.Storage.Wal;

namespace Pyroscope.Ingester;

/// <summary>
/// The heads being written (one per tenant), the heads cut but not yet flushed, and the WAL they are logged in.
/// A push appends to its tenant's head and queues its WAL record under a shared lock; a cut takes that lock
/// exclusively and rotates the WAL with the heads, so every WAL segment belongs to exactly one cut and is released
/// (<see cref="Release"/>) once that cut's blocks are durable.
/// </summary>
/// <param name="state">Guards the head lists; shared with <see cref="LocalBlocks"/> so a snapshot sees each cut once, as heads or as blocks.</param>
internal sealed class HeadSet(WriteAheadLog wal, PyroscopeDbOptions options, TimeProvider time, object state)
{
    private readonly ReaderWriterLockSlim _cutLock = new(LockRecursionPolicy.NoRecursion);
    private readonly List<HeadCut> _cuts = [];
    private Dictionary<string, TenantHead> _heads = new(StringComparer.Ordinal);
    private long _generationFirstAppendTicks;

    /// <summary>Appends a push and queues its WAL record; the task completes once the record is durable.</summary>
    public Task AppendAndLogAsync(string tenantId, PushRequest request, LabelSet[] labels, byte[] walRecord)
    {
        _cutLock.EnterReadLock();
        try
        {
            Append(tenantId, request, labels);
            return wal.AppendAsync(walRecord);
        }
        finally
        {
            _cutLock.ExitReadLock();
        }
    }

    /// <summary>Appends a push that is in the WAL already (replay); returns how many profiles were new.</summary>
    public int Append(string tenantId, PushRequest request, LabelSet[] labels)
    {
        TenantHead? head;
        lock (state)
        {
            if (!_heads.TryGetValue(tenantId, out head))
            {
                head = new TenantHead(tenantId, Ulid.NewUlid(time.GetUtcNow()));
                _heads = new Dictionary<string, TenantHead>(_heads, StringComparer.Ordinal) { [tenantId] = head };
            }
        }
        var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        var appended = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            if (head.Append(request.Series[i], labels[i], nowMs))
            {
                appended++;
            }
        }
        Interlocked.CompareExchange(ref _generationFirstAppendTicks, time.GetUtcNow().UtcTicks, 0);
        return appended;
    }

    /// <summary>Whether the heads are old or big enough to be cut.</summary>
    public bool CutDue()
    {
        var first = Interlocked.Read(ref _generationFirstAppendTicks);
        if (first == 0)
        {
            return false;
        }
        if (time.GetUtcNow().UtcTicks - first >= options.MaxBlockDuration.Ticks)
        {
            return true;
        }
        long bytes = 0;
        foreach (var head in Volatile.Read(ref _heads).Values)
        {
            bytes += head.EstimatedBytes;
        }
        return bytes >= options.MaxHeadBytes;
    }

    /// <summary>Freezes the current heads (they stay queryable) and starts new ones and a new WAL segment.</summary>
    public void Cut()
    {
        _cutLock.EnterWriteLock();
        try
        {
            lock (state)
            {
                if (_heads.Count == 0)
                {
                    return;
                }
                var closed = wal.Rotate();
                _cuts.Add(new HeadCut([.. _heads.Values], closed));
                _heads = new Dictionary<string, TenantHead>(StringComparer.Ordinal);
                Interlocked.Exchange(ref _generationFirstAppendTicks, 0);
            }
        }
        finally
        {
            _cutLock.ExitWriteLock();
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
            foreach (var head in cut.Heads)
            {
                if (head.TenantId == tenantId)
                {
                    into.Add(head);
                }
            }
        }
        if (_heads.TryGetValue(tenantId, out var current))
        {
            into.Add(current);
        }
    }
}

/// <summary>Heads frozen by one cut, and the WAL segment that closed with them.</summary>
internal sealed record HeadCut(List<TenantHead> Heads, long ClosedSegment);
