using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Pyroscope.Storage.Wal;

/// <summary>
/// Append-only log of pushes in numbered segments (<see cref="WalSegmentFiles"/>). Appends are group-committed: one
/// writer thread drains everything queued, writes it in one call, syncs once and completes all waiting appends together.
/// A segment is rotated when the head is cut, so every segment belongs to exactly one head generation and can be
/// deleted once that generation's blocks are durable.
/// With fsync on, a file is zero-filled ahead of its records (<see cref="ZeroTailBytes"/>): a sync of a write into
/// blocks the file already has flushes only data, while one that grows the file also commits the filesystem's journal
/// (ext4: half the sync time, on the path of every push). Replay ends a file at the first all-zero header; a closed
/// file is cut back to its records.
/// A write or sync that fails (a full disk above all) fails every append of its batch with a
/// <see cref="WalWriteException"/>, cuts the file back to where the batch began, and closes it: the next batch goes to
/// a fresh continuation file, so nothing acknowledged later can sit behind whatever the failure left.
/// </summary>
public sealed class WriteAheadLog : IAsyncDisposable
{
    private const string CheckpointFile = "checkpoint";

    /// <summary>A batch is written once it holds this much, so one huge queue does not become one huge buffer.</summary>
    private const int MaxBatchBytes = 8 * 1024 * 1024;

    /// <summary>How far ahead of its records a file is zero-filled: as much as it holds, from 256 KiB up to 4 MiB.</summary>
    private static long ZeroTailBytes(long fileBytes) => Math.Clamp(fileBytes, 256 * 1024, 4 * 1024 * 1024);

    /// <summary>
    /// Batches from this size on grow the file instead: the journal commit is small beside writing them, and zeros
    /// ahead of megabytes of records would double what the disk writes (4 MB profiles: one fill per push).
    /// </summary>
    private const int ZeroFillBelowBatchBytes = 512 * 1024;

    private static readonly byte[] Zeros = new byte[256 * 1024];

    private readonly string _directory;
    private readonly bool _fsync;
    private readonly ILogger _logger;
    private readonly Channel<Item> _queue = Channel.CreateUnbounded<Item>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;
    private readonly object _enqueueLock = new();
    private long _enqueueSegment;
    private long _segment;
    private int _part;
    private FileStream? _file;
    private long _recordsEnd;
    private long _zeroedEnd;
    private bool _failedSinceOpen;
    private byte[] _buffer = [];
    private long _bytesOnDisk;
    private long _bytesWritten;
    private long _failedAppends;
    private long _outOfSpaceFailures;
    private WalFailure? _failure;

    private WriteAheadLog(string directory, bool fsync, ILogger logger, long firstSegment)
    {
        _directory = directory;
        _fsync = fsync;
        _logger = logger;
        _enqueueSegment = firstSegment;
        _segment = firstSegment;
        // Opened here so that a directory that cannot be written fails the start, not the first push.
        OpenFile(firstSegment, 0);
        _bytesOnDisk = MeasureBytesOnDisk();
        // A thread of its own: each batch blocks in a sync, which would hold a pool thread that requests need.
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _writer = done.Task;
        var thread = new Thread(() =>
        {
            try
            {
                WriteLoop();
                done.SetResult();
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        })
        { IsBackground = true, Name = "WAL writer" };
        thread.Start();
    }

    /// <summary>The directory's segments, oldest first, after the checkpoint.</summary>
    public static WriteAheadLog Open(string directory, bool fsync, ILogger logger, out IReadOnlyList<long> segmentsToReplay)
    {
        Directory.CreateDirectory(directory);
        var checkpoint = ReadCheckpoint(directory);
        var replay = new List<long>();
        long last = 0;
        foreach (var (segment, _, path) in WalSegmentFiles.List(directory))
        {
            last = Math.Max(last, segment);
            if (segment <= checkpoint)
            {
                // Already in a durable block; a crash happened before the file was removed.
                File.Delete(path);
            }
            else if (replay.Count == 0 || replay[^1] != segment)
            {
                replay.Add(segment);
            }
        }
        segmentsToReplay = replay;
        return new WriteAheadLog(directory, fsync, logger, Math.Max(checkpoint, last) + 1) { LastCheckpoint = checkpoint };
    }

    /// <summary>Reads the records of one segment, its continuation files included. A torn or corrupt tail ends a file with a warning.</summary>
    public static IEnumerable<byte[]> ReadSegment(string directory, long segment, ILogger logger)
    {
        foreach (var (number, _, path) in WalSegmentFiles.List(directory))
        {
            if (number != segment)
            {
                continue;
            }
            foreach (var record in WalSegmentFiles.ReadFile(path, logger))
            {
                yield return record;
            }
        }
    }

    /// <summary>Segments up to this number are in durable blocks.</summary>
    public long LastCheckpoint { get; private set; }

    public string DirectoryPath => _directory;

    /// <summary>Called with the duration of every fsync (only when fsync is on).</summary>
    public Action<TimeSpan>? SyncObserved { get; set; }

    /// <summary>Bytes of the segment files not yet released by a checkpoint.</summary>
    public long BytesOnDisk => Interlocked.Read(ref _bytesOnDisk);

    /// <summary>Bytes written (and synced) since start, record headers included.</summary>
    public long BytesWritten => Interlocked.Read(ref _bytesWritten);

    /// <summary>Appends that failed because the log could not be written, since start.</summary>
    public long FailedAppends => Interlocked.Read(ref _failedAppends);

    /// <summary>Batches that failed because the disk (or quota) was full, since start.</summary>
    public long OutOfSpaceFailures => Interlocked.Read(ref _outOfSpaceFailures);

    /// <summary>Set while the last write failed; cleared by the next write that succeeds.</summary>
    public WalFailure? Failure => Volatile.Read(ref _failure);

    /// <summary>
    /// Queues a record; the task completes once it is written (and synced, with fsync on), or fails with a
    /// <see cref="WalWriteException"/>. The caller keeps <paramref name="payload"/> unchanged until then.
    /// </summary>
    /// <param name="durable">
    /// Run by the writer thread once the record is durable, before the task completes (an exception it throws fails the
    /// task, the record stays written). It saves the hand-over to another thread and back for work that is short and
    /// must follow durability (a small push's head append).
    /// </param>
    public Task AppendAsync(ReadOnlyMemory<byte> payload, Action? durable = null)
    {
        // An empty record's header is all zeros, which replay reads as the end of a file's records.
        ArgumentOutOfRangeException.ThrowIfZero(payload.Length);
        var item = new Item(payload, null, durable);
        lock (_enqueueLock)
        {
            if (!_queue.Writer.TryWrite(item))
            {
                throw new ObjectDisposedException(nameof(WriteAheadLog));
            }
        }
        return item.Done.Task;
    }

    /// <summary>
    /// Starts a new segment. Returns the number of the segment closed: every record queued before
    /// this call lives in a segment with that number or lower.
    /// </summary>
    public long Rotate()
    {
        lock (_enqueueLock)
        {
            var closed = _enqueueSegment++;
            _queue.Writer.TryWrite(new Item(default, _enqueueSegment, null));
            return closed;
        }
    }

    /// <summary>Records that segments up to <paramref name="segment"/> are durable elsewhere, then deletes them.</summary>
    public void Checkpoint(long segment)
    {
        var temp = Path.Combine(_directory, CheckpointFile + ".tmp");
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write))
        {
            file.Write(System.Text.Encoding.ASCII.GetBytes(segment.ToString(CultureInfo.InvariantCulture)));
            file.Flush(flushToDisk: true);
        }
        File.Move(temp, Path.Combine(_directory, CheckpointFile), overwrite: true);
        LastCheckpoint = segment;
        foreach (var (number, _, path) in WalSegmentFiles.List(_directory))
        {
            if (number <= segment)
            {
                File.Delete(path);
            }
        }
        Interlocked.Exchange(ref _bytesOnDisk, MeasureBytesOnDisk());
    }

    public static byte[] Frame(ReadOnlySpan<byte> payload)
    {
        var record = new byte[WalSegmentFiles.HeaderSize + payload.Length];
        WalSegmentFiles.WriteHeader(record, payload);
        payload.CopyTo(record.AsSpan(WalSegmentFiles.HeaderSize));
        return record;
    }

    private void WriteLoop()
    {
        var batch = new List<Item>();
        var batchBytes = 0L;
        while (_queue.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            while (_queue.Reader.TryRead(out var item))
            {
                if (item.RotateTo is { } next)
                {
                    Commit(batch, batchBytes);
                    batchBytes = 0;
                    CloseFile();
                    _segment = next;
                    _part = 0;
                    _failedSinceOpen = false;
                    continue;
                }
                batch.Add(item);
                batchBytes += WalSegmentFiles.HeaderSize + item.Payload.Length;
                if (batchBytes >= MaxBatchBytes)
                {
                    Commit(batch, batchBytes);
                    batchBytes = 0;
                }
            }
            Commit(batch, batchBytes);
            batchBytes = 0;
        }
        CloseFile();
    }

    /// <summary>Writes and syncs a batch and completes its appends, all of them succeeding or all failing.</summary>
    private void Commit(List<Item> batch, long bytes)
    {
        if (batch.Count == 0)
        {
            return;
        }
        try
        {
            if (bytes > int.MaxValue)
            {
                throw new IOException($"a batch of {bytes} bytes is larger than one write can take");
            }
            var length = (int)bytes;
            if (_buffer.Length < length || _buffer.Length > 4 * Math.Max(length, MaxBatchBytes))
            {
                _buffer = new byte[Math.Max(length, Math.Min(2 * length, MaxBatchBytes))];
            }
            var offset = 0;
            foreach (var item in batch)
            {
                var payload = item.Payload.Span;
                WalSegmentFiles.WriteHeader(_buffer.AsSpan(offset), payload);
                payload.CopyTo(_buffer.AsSpan(offset + WalSegmentFiles.HeaderSize));
                offset += WalSegmentFiles.HeaderSize + payload.Length;
            }
            var grown = Write(_buffer.AsSpan(0, length));
            Interlocked.Add(ref _bytesOnDisk, grown);
            Interlocked.Add(ref _bytesWritten, length);
            if (Volatile.Read(ref _failure) is not null)
            {
                _logger.LogInformation("The write-ahead log at {Directory} is writable again.", _directory);
                Volatile.Write(ref _failure, null);
            }
            Complete(batch, null);
        }
        catch (Exception e)
        {
            var error = WalWriteException.From(_directory, e);
            Interlocked.Add(ref _failedAppends, batch.Count);
            if (error.OutOfSpace)
            {
                Interlocked.Increment(ref _outOfSpaceFailures);
            }
            if (Volatile.Read(ref _failure) is null)
            {
                // Once per outage, not once per batch: every refused push gets the message in its 503.
                _logger.LogError(e, "The write-ahead log at {Directory} cannot be written; pushes are refused until it can.", _directory);
            }
            Volatile.Write(ref _failure, new WalFailure(error.Message, error.OutOfSpace, DateTimeOffset.UtcNow));
            Complete(batch, error);
        }
    }

    /// <summary>Writes and syncs the records after the last ones; returns by how much the file grew.</summary>
    private long Write(ReadOnlySpan<byte> bytes)
    {
        if (_file is null)
        {
            // After a failure the segment continues in a new file, never behind the failed write.
            if (_failedSinceOpen)
            {
                _part++;
            }
            OpenFile(_segment, _part);
            _failedSinceOpen = false;
        }
        var file = _file!;
        var start = _recordsEnd;
        var lengthBefore = Math.Max(_zeroedEnd, start);
        try
        {
            file.Position = start;
            file.Write(bytes);
            _recordsEnd = start + bytes.Length;
            if (_fsync)
            {
                if (_recordsEnd > _zeroedEnd && bytes.Length < ZeroFillBelowBatchBytes)
                {
                    ZeroFillAhead(file);
                }
                var watch = Stopwatch.StartNew();
                DataSync.Sync(file);
                SyncObserved?.Invoke(watch.Elapsed);
            }
            return Math.Max(_zeroedEnd, _recordsEnd) - lengthBefore;
        }
        catch
        {
            _recordsEnd = start;
            Abandon(start);
            throw;
        }
    }

    /// <summary>
    /// Zero-fills the file ahead of its records, so that the next syncs write into blocks it has. A disk too full for
    /// the zeros is not a failure: the records written are kept, and the file grows with its records until space returns.
    /// </summary>
    private void ZeroFillAhead(FileStream file)
    {
        var end = _recordsEnd + ZeroTailBytes(_recordsEnd);
        try
        {
            file.Position = _recordsEnd;
            for (var at = _recordsEnd; at < end; at += Zeros.Length)
            {
                file.Write(Zeros, 0, (int)Math.Min(Zeros.Length, end - at));
            }
            _zeroedEnd = end;
        }
        catch (IOException)
        {
            file.SetLength(_recordsEnd);
            _zeroedEnd = _recordsEnd;
        }
    }

    /// <summary>Cuts a failed write off the file (freeing the space it took) and closes it; the next write opens a continuation.</summary>
    private void Abandon(long goodLength)
    {
        var file = _file!;
        _file = null;
        _failedSinceOpen = true;
        try
        {
            file.SetLength(goodLength);
        }
        catch (IOException e)
        {
            // Replay then drops the torn tail of this file; the records after it are in the next one.
            _logger.LogWarning(e, "Could not cut the failed write off WAL file {Path}.", file.Name);
        }
        try
        {
            file.Dispose();
        }
        catch (IOException)
        {
        }
        Interlocked.Exchange(ref _bytesOnDisk, MeasureBytesOnDisk());
    }

    private void CloseFile()
    {
        if (_file is null)
        {
            return;
        }
        try
        {
            if (_zeroedEnd > _recordsEnd)
            {
                // The zeros ahead were for syncs this file will not get; replay would stop at them anyway.
                _file.SetLength(_recordsEnd);
                Interlocked.Add(ref _bytesOnDisk, _recordsEnd - _zeroedEnd);
            }
            _file.Dispose();
        }
        catch (IOException e)
        {
            _logger.LogWarning(e, "Closing WAL file {Path} failed.", _file.Name);
        }
        _file = null;
    }

    private static void Complete(List<Item> items, Exception? error)
    {
        foreach (var item in items)
        {
            if (error is null)
            {
                try
                {
                    item.Durable?.Invoke();
                }
                catch (Exception e)
                {
                    // A caller's bug: it fails that append alone; the record is written and the batch stands.
                    item.Done.TrySetException(e);
                    continue;
                }
                item.Done.TrySetResult();
            }
            else
            {
                item.Done.TrySetException(error);
            }
        }
        items.Clear();
    }

    // Unbuffered: a batch is one write call, and a failed one leaves nothing queued in a buffer to retry later.
    private void OpenFile(long segment, int part)
    {
        _file = new FileStream(WalSegmentFiles.PathOf(_directory, segment, part), FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read, bufferSize: 0);
        _recordsEnd = _file.Length;
        _zeroedEnd = _recordsEnd;
    }

    private long MeasureBytesOnDisk()
    {
        long total = 0;
        foreach (var (_, _, path) in WalSegmentFiles.List(_directory))
        {
            try
            {
                total += new FileInfo(path).Length;
            }
            catch (IOException)
            {
            }
        }
        return total;
    }

    private static long ReadCheckpoint(string directory)
    {
        var path = Path.Combine(directory, CheckpointFile);
        return File.Exists(path) && long.TryParse(File.ReadAllText(path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0;
    }

    public async ValueTask DisposeAsync()
    {
        lock (_enqueueLock)
        {
            _queue.Writer.TryComplete();
        }
        await _writer;
    }

    private sealed class Item(ReadOnlyMemory<byte> payload, long? rotateTo, Action? durable)
    {
        public ReadOnlyMemory<byte> Payload { get; } = payload;

        public long? RotateTo { get; } = rotateTo;

        public Action? Durable { get; } = durable;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>Why the WAL refuses writes, since when; <see cref="OutOfSpace"/> when the disk or a quota is full.</summary>
public sealed record WalFailure(string Message, bool OutOfSpace, DateTimeOffset Since);
