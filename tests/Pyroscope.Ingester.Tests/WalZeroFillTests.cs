using Microsoft.Extensions.Logging;
using Pyroscope.Storage.Wal;

namespace Pyroscope.Ingester.Tests;

/// <summary>
/// With fsync on, a WAL file is zero-filled ahead of its records (a sync that does not grow the file is cheaper): what a
/// crash leaves is records then zeros, which replay reads as a clean end; a closed file holds only its records.
/// </summary>
public sealed class WalZeroFillTests
{
    [Fact]
    public async Task An_open_file_is_zero_filled_ahead_replays_without_a_warning_and_is_cut_back_when_closed()
    {
        using var dir = new TempDir();
        var wal = WriteAheadLog.Open(dir.Path, fsync: true, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, out _);
        var records = Enumerable.Range(1, 5).Select(i => Record(i, 10_000 * i)).ToList();
        foreach (var record in records)
        {
            await wal.AppendAsync(record);
        }
        var file = Path.Combine(dir.Path, "0000000001.wal");
        var recordBytes = records.Sum(r => r.Length + 8L);

        // What a SIGKILL now leaves on disk: the records, then zeros.
        Assert.True(new FileInfo(file).Length > recordBytes, $"{new FileInfo(file).Length} bytes, records {recordBytes}");
        Assert.Equal(new FileInfo(file).Length, wal.BytesOnDisk);
        var warnings = new WarningCounter();
        Assert.Equal(records, WriteAheadLog.ReadSegment(dir.Path, 1, warnings).ToList());
        Assert.Equal(0, warnings.Count);

        // Appends after the first fill stay in front of the zeros.
        var more = Record(9, 300_000);
        await wal.AppendAsync(more);
        records.Add(more);
        Assert.Equal(records, WriteAheadLog.ReadSegment(dir.Path, 1, warnings).ToList());

        // A batch of 512 KiB or more grows the file without zeros ahead (they would double what the disk writes).
        var large = Record(10, 1_200_000);
        await wal.AppendAsync(large);
        records.Add(large);
        Assert.Equal(records.Sum(r => r.Length + 8L), new FileInfo(file).Length);
        Assert.Equal(records, WriteAheadLog.ReadSegment(dir.Path, 1, warnings).ToList());

        await wal.DisposeAsync();
        Assert.Equal(records.Sum(r => r.Length + 8L), new FileInfo(file).Length);
        Assert.Equal(records, WriteAheadLog.ReadSegment(dir.Path, 1, warnings).ToList());
        Assert.Equal(0, warnings.Count);
    }

    [Fact]
    public async Task An_empty_record_is_refused_because_its_header_would_read_as_the_end()
    {
        using var dir = new TempDir();
        await using var wal = WriteAheadLog.Open(dir.Path, fsync: true, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, out _);
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = wal.AppendAsync(ReadOnlyMemory<byte>.Empty); });
    }

    private static byte[] Record(int seed, int length)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private sealed class WarningCounter : ILogger
    {
        public int Count { get; private set; }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= LogLevel.Warning)
            {
                Count++;
            }
        }
    }
}
