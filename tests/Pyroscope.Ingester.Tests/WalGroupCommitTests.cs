using System.Buffers.Binary;
using Microsoft.Extensions.Logging.Abstractions;
using Pyroscope.Storage.Wal;

namespace Pyroscope.Ingester.Tests;

/// <summary>Group commit: appends from many threads, with rotations among them, all land exactly once, each thread's in its order.</summary>
public sealed class WalGroupCommitTests
{
    [Fact]
    public async Task Concurrent_appends_and_rotations_land_exactly_once_in_order_per_writer()
    {
        using var dir = new TempDir();
        var wal = WriteAheadLog.Open(dir.Path, fsync: true, NullLogger.Instance, out _);
        const int Writers = 8;
        const int PerWriter = 150;
        using var stop = new CancellationTokenSource();
        var rotations = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                wal.Rotate();
                await Task.Delay(3, TestContext.Current.CancellationToken);
            }
        }, TestContext.Current.CancellationToken);
        var writers = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < PerWriter; i++)
            {
                await wal.AppendAsync(Record(w, i));
            }
        }, TestContext.Current.CancellationToken)).ToArray();
        await Task.WhenAll(writers);
        await stop.CancelAsync();
        await rotations;
        await wal.DisposeAsync();

        var segments = Directory.GetFiles(dir.Path, "*.wal")
            .Select(path => long.Parse(Path.GetFileNameWithoutExtension(path).Split('_')[0], System.Globalization.CultureInfo.InvariantCulture))
            .Distinct().Order().ToList();
        Assert.True(segments.Count > 1, "rotations happened among the appends");
        var next = new int[Writers];
        foreach (var segment in segments)
        {
            foreach (var record in WriteAheadLog.ReadSegment(dir.Path, segment, NullLogger.Instance))
            {
                var writer = BinaryPrimitives.ReadInt32LittleEndian(record);
                var sequence = BinaryPrimitives.ReadInt32LittleEndian(record.AsSpan(4));
                Assert.Equal(next[writer], sequence);
                next[writer]++;
            }
        }
        Assert.All(next, count => Assert.Equal(PerWriter, count));
    }

    private static byte[] Record(int writer, int sequence)
    {
        var bytes = new byte[16];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, writer);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), sequence);
        return bytes;
    }
}
