using System.Buffers.Binary;
using System.Globalization;
using System.IO.Hashing;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Pyroscope.Storage.Wal;

/// <summary>
/// Append-only log of pushes, in numbered segment files. Appends are group-committed: one writer
/// task drains everything queued, writes it, syncs once and completes all waiting appends together.
/// Record: u32 length, u32 CRC-32 of the payload, payload. A segment is rotated when the head is
/// cut, so every segment belongs to exactly one head generation and can be deleted once that
/// generation's blocks are durable.
/// </summary>
public sealed class WriteAheadLog : IAsyncDisposable
{
    private const string Extension = ".wal";
    private const string CheckpointFile = "checkpoint";
    private const int HeaderSize = 8;
    private const int MaxRecordBytes = 512 * 1024 * 1024;

    private readonly string _directory;
    private readonly bool _fsync;
    private readonly ILogger _logger;
    private readonly Channel<Item> _queue = Channel.CreateUnbounded<Item>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;
    private readonly object _enqueueLock = new();
    private long _enqueueSegment;
    private FileStream _file;

    private WriteAheadLog(string directory, bool fsync, ILogger logger, long firstSegment)
    {
        _directory = directory;
        _fsync = fsync;
        _logger = logger;
        _enqueueSegment = firstSegment;
        _file = OpenSegment(firstSegment);
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>The directory's segments, oldest first, after the checkpoint.</summary>
    public static WriteAheadLog Open(string directory, bool fsync, ILogger logger, out IReadOnlyList<long> segmentsToReplay)
    {
        Directory.CreateDirectory(directory);
        var checkpoint = ReadCheckpoint(directory);
        var segments = ListSegments(directory);
        var replay = new List<long>();
        foreach (var segment in segments)
        {
            if (segment <= checkpoint)
            {
                // Already in a durable block; a crash happened before the file was removed.
                File.Delete(SegmentPath(directory, segment));
            }
            else
            {
                replay.Add(segment);
            }
        }
        var next = Math.Max(checkpoint, segments.Count == 0 ? 0 : segments[^1]) + 1;
        segmentsToReplay = replay;
        return new WriteAheadLog(directory, fsync, logger, next) { LastCheckpoint = checkpoint };
    }

    /// <summary>Reads the records of one segment. A torn or corrupt tail ends the segment with a warning.</summary>
    public static IEnumerable<byte[]> ReadSegment(string directory, long segment, ILogger logger)
    {
        var path = SegmentPath(directory, segment);
        byte[] data;
        try
        {
            data = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            yield break;
        }
        var offset = 0;
        while (offset < data.Length)
        {
            if (data.Length - offset < HeaderSize)
            {
                logger.LogWarning("WAL segment {Segment}: torn record header at offset {Offset}; dropping {Bytes} trailing bytes.", path, offset, data.Length - offset);
                yield break;
            }
            var length = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(offset));
            var crc = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(offset + 4));
            if (length > MaxRecordBytes || length > data.Length - offset - HeaderSize)
            {
                logger.LogWarning("WAL segment {Segment}: torn record at offset {Offset} (length {Length}); dropping {Bytes} trailing bytes.", path, offset, length, data.Length - offset);
                yield break;
            }
            var payload = data.AsSpan(offset + HeaderSize, (int)length);
            if (Crc32.HashToUInt32(payload) != crc)
            {
                logger.LogWarning("WAL segment {Segment}: checksum mismatch at offset {Offset}; dropping {Bytes} trailing bytes.", path, offset, data.Length - offset);
                yield break;
            }
            yield return payload.ToArray();
            offset += HeaderSize + (int)length;
        }
    }

    /// <summary>Segments up to this number are in durable blocks.</summary>
    public long LastCheckpoint { get; private set; }

    /// <summary>Queues a record; the task completes once it is written (and synced, with fsync on).</summary>
    public Task AppendAsync(ReadOnlyMemory<byte> payload)
    {
        var item = new Item(payload, null);
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
            _queue.Writer.TryWrite(new Item(default, _enqueueSegment));
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
        foreach (var existing in ListSegments(_directory))
        {
            if (existing <= segment)
            {
                File.Delete(SegmentPath(_directory, existing));
            }
        }
    }

    public static byte[] Frame(ReadOnlySpan<byte> payload)
    {
        var record = new byte[HeaderSize + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(4), Crc32.HashToUInt32(payload));
        payload.CopyTo(record.AsSpan(HeaderSize));
        return record;
    }

    private async Task WriteLoopAsync()
    {
        var pending = new List<Item>();
        var header = new byte[HeaderSize];
        while (await _queue.Reader.WaitToReadAsync())
        {
            try
            {
                while (_queue.Reader.TryRead(out var item))
                {
                    if (item.RotateTo is { } next)
                    {
                        Sync();
                        Complete(pending, null);
                        _file.Dispose();
                        _file = OpenSegment(next);
                        continue;
                    }
                    BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)item.Payload.Length);
                    BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), Crc32.HashToUInt32(item.Payload.Span));
                    _file.Write(header);
                    _file.Write(item.Payload.Span);
                    pending.Add(item);
                }
                Sync();
                Complete(pending, null);
            }
            catch (Exception e)
            {
                _logger.LogError(e, "WAL write failed in {Directory}.", _directory);
                Complete(pending, e);
            }
        }
        Sync();
        _file.Dispose();
    }

    private void Sync()
    {
        _file.Flush(flushToDisk: _fsync);
    }

    private static void Complete(List<Item> items, Exception? error)
    {
        foreach (var item in items)
        {
            if (error is null)
            {
                item.Done.TrySetResult();
            }
            else
            {
                item.Done.TrySetException(new IOException("The write-ahead log could not persist the push.", error));
            }
        }
        items.Clear();
    }

    private FileStream OpenSegment(long segment) =>
        new(SegmentPath(_directory, segment), FileMode.Append, FileAccess.Write, FileShare.Read, 64 * 1024);

    private static string SegmentPath(string directory, long segment) =>
        Path.Combine(directory, segment.ToString("D10", CultureInfo.InvariantCulture) + Extension);

    private static List<long> ListSegments(string directory)
    {
        var result = new List<long>();
        foreach (var path in Directory.EnumerateFiles(directory, "*" + Extension))
        {
            if (long.TryParse(Path.GetFileNameWithoutExtension(path), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            {
                result.Add(n);
            }
        }
        result.Sort();
        return result;
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

    private sealed class Item(ReadOnlyMemory<byte> payload, long? rotateTo)
    {
        public ReadOnlyMemory<byte> Payload { get; } = payload;

        public long? RotateTo { get; } = rotateTo;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
