using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Model;
using Pyroscope.Model.Ingest;
using Pyroscope.Storage.Blocks;

namespace Pyroscope.Storage.Head;

/// <summary>
/// The in-memory, appendable part of one tenant's data. Appends take the write lock (per tenant, so
/// tenants append in parallel). Queries take the read lock only for the short synchronous part: matching
/// series, summing values per stack and taking a <see cref="Symbols.SymbolSnapshot"/>; the stack walk and
/// frame naming run on the snapshot after the lock is released (see Reading.HeadSource). The block id is fixed at creation so a head can be identified before and after it becomes a block.
/// </summary>
public sealed class TenantHead
{
    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private readonly ProfileAppender _appender = new();
    private readonly HashSet<string> _profileIds = new(StringComparer.Ordinal);

    public TenantHead(string tenantId, Ulid blockId)
    {
        TenantId = tenantId;
        BlockId = blockId;
    }

    public string TenantId { get; }

    /// <summary>
    /// Taken by appenders that can wait asynchronously (the ingester's pushes), so that pushes released together by a
    /// group commit queue here without blocking pool threads on the write lock.
    /// </summary>
    public SemaphoreSlim AppendGate { get; } = new(1, 1);

    public Ulid BlockId { get; }

    internal TenantTables Tables { get; } = TenantTables.CreateWritable();

    public int ProfileCount => Tables.Profiles.Count;

    public int SeriesCount => Tables.Index.Count;

    /// <summary>Bytes of memory in use, approximately; used to cut the head by size.</summary>
    public long EstimatedBytes { get; private set; }

    /// <summary>Appends one profile; returns false when a profile with the same id is already here (replica or retry).</summary>
    public bool Append(ProfileSeries series, long fallbackTimestampMs) => Append(series, ToLabelSet(series), fallbackTimestampMs);

    /// <summary>As <see cref="Append(ProfileSeries, long)"/>, with the series' labels already validated by the caller.</summary>
    public bool Append(ProfileSeries series, LabelSet labels, long fallbackTimestampMs)
    {
        using var normalized = MessageSeries.ToNormalized(series, labels);
        return Append([(normalized, normalized.Series[0])], fallbackTimestampMs) == 1;
    }

    /// <summary>
    /// Appends normalised series (typically all of one push, under one lock, so their shared symbols are interned once);
    /// returns how many were new: a profile with an id already here (a replica or a retry) is not appended again.
    /// </summary>
    public int Append(IReadOnlyList<(NormalizedProfile Profile, NormalizedSeries Series)> series, long fallbackTimestampMs)
    {
        var appended = 0;
        // Held already when called from TryAppendWithoutWaiting on this thread.
        var enter = !_lock.IsWriteLockHeld;
        if (enter)
        {
            _lock.EnterWriteLock();
        }
        try
        {
            foreach (var (profile, one) in series)
            {
                if (AppendLocked(profile, one, fallbackTimestampMs))
                {
                    appended++;
                }
            }
        }
        finally
        {
            if (enter)
            {
                _appender.Release();
                _lock.ExitWriteLock();
            }
        }
        return appended;
    }

    /// <summary>
    /// Runs <paramref name="append"/> (which calls <see cref="Append(IReadOnlyList{ValueTuple{NormalizedProfile, NormalizedSeries}}, long)"/>)
    /// holding the write lock, if the lock is free right now; returns false, having run nothing, when a query or an
    /// append holds it. For a caller that must never wait on one tenant: the WAL's writer thread.
    /// </summary>
    public bool TryAppendWithoutWaiting(Action<TenantHead> append)
    {
        if (!_lock.TryEnterWriteLock(0))
        {
            return false;
        }
        try
        {
            append(this);
        }
        finally
        {
            _appender.Release();
            _lock.ExitWriteLock();
        }
        return true;
    }

    private bool AppendLocked(NormalizedProfile profile, NormalizedSeries series, long fallbackTimestampMs)
    {
        var timestampMs = series.TimeNanos > 0 ? series.TimeNanos / 1_000_000 : fallbackTimestampMs;
        var profileId = series.ProfileId;
        if (profileId.Length > 0 && !_profileIds.Add(profileId))
        {
            return false;
        }
        var tables = Tables;
        var (start, count, total) = _appender.Append(tables.Symbols, tables.Samples, profile, series);
        var seriesId = tables.Index.GetOrAdd(series.Labels);
        var row = tables.Profiles.Add(seriesId, timestampMs, profileId, total, start, count);
        tables.Index.AddProfile(seriesId, row, timestampMs);
        tables.MinTimeMs = Math.Min(tables.MinTimeMs, timestampMs);
        tables.MaxTimeMs = Math.Max(tables.MaxTimeMs, timestampMs);
        if ((row & 63) == 0)
        {
            EstimatedBytes = tables.EstimatedBytes();
        }
        else
        {
            EstimatedBytes += count * 12L + 96;
        }
        return true;
    }

    internal T Read<T>(Func<TenantTables, T> read)
    {
        _lock.EnterReadLock();
        try
        {
            return read(Tables);
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>
    /// The head as a level-1 block with the head's own id. The caller guarantees the head is frozen: no append
    /// is in flight or follows (an ingester encodes a head only after cutting it).
    /// </summary>
    public EncodedBlock EncodeBlock() =>
        BlockWriter.Encode(Tables, TenantId, BlockId, level: 1, sources: [BlockId.ToString()]);

    /// <summary>
    /// Lets new heads fill the sample chunks of heads that are gone, keeping up to <paramref name="bytes"/> of them
    /// (an ingester passes its <c>max_head_bytes</c>), so the memory of a flushed head is reused instead of returned to
    /// the GC and asked for again (see <see cref="HeadChunkPool"/>).
    /// </summary>
    public static void ReuseSampleChunksUpTo(long bytes) => HeadChunkPool.MaxBytes = bytes;

    /// <summary>Drops the kept sample chunks when no head has taken one for <paramref name="unusedFor"/>.</summary>
    public static void DropSampleChunksUnusedFor(TimeSpan unusedFor) => HeadChunkPool.DropIfUnused(unusedFor);

    /// <summary>Labels as sent; an empty name or duplicate is a caller bug we reject by name.</summary>
    public static LabelSet ToLabelSet(ProfileSeries series)
    {
        if (series.Profile is null)
        {
            throw new ArgumentException($"Profile series '{series.Id}' has no profile.");
        }
        var labels = new Label[series.Labels.Count];
        for (var i = 0; i < labels.Length; i++)
        {
            var pair = series.Labels[i];
            if (string.IsNullOrEmpty(pair.Name))
            {
                throw new ArgumentException($"Profile series '{series.Id}' has a label with an empty name.");
            }
            labels[i] = new Label(pair.Name, pair.Value);
        }
        return LabelSet.From(labels);
    }
}
