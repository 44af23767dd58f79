using Microsoft.Extensions.Logging.Abstractions;
using Pyroscope.Storage.Wal;
using Pyroscope.Testing;

namespace Pyroscope.Ingester.Tests;

/// <summary>
/// The WAL on a real filesystem that runs full (tmpfs): a failed write fails every append of its batch, leaves nothing
/// behind, and the log continues in a fresh file once space returns, so replay reads every acknowledged record.
/// </summary>
public sealed class WalFailureTests
{
    [Fact]
    public async Task A_full_disk_fails_the_append_cuts_it_off_and_the_log_continues_in_a_fresh_file()
    {
        using var disk = TmpfsMount.TryMount(1 << 20, out var reason);
        Assert.SkipWhen(disk is null, reason);
        var directory = Path.Combine(disk!.Path, "wal");
        var wal = WriteAheadLog.Open(directory, fsync: true, NullLogger.Instance, out _);
        var acknowledged = new List<byte[]>();
        WalWriteException? failure = null;
        for (var i = 0; failure is null && i < 100; i++)
        {
            var record = Record(i, 100_000);
            try
            {
                await wal.AppendAsync(record);
                acknowledged.Add(record);
            }
            catch (WalWriteException e)
            {
                failure = e;
            }
        }
        Assert.NotNull(failure);
        Assert.True(failure.OutOfSpace);
        Assert.Contains("insufficient storage", failure.Message);
        Assert.Contains(directory, failure.Message);
        Assert.NotNull(wal.Failure);
        // The failed write is cut off: the file holds exactly the acknowledged records.
        Assert.Equal(acknowledged.Sum(r => r.Length + 8L), new FileInfo(Path.Combine(directory, "0000000001.wal")).Length);

        // Still full: a batch of several appends fails as a whole, every waiter answered.
        var batch = Enumerable.Range(0, 4).Select(i => wal.AppendAsync(Record(1000 + i, 100_000))).ToArray();
        foreach (var append in batch)
        {
            await Assert.ThrowsAsync<WalWriteException>(() => append);
        }

        // Space returns: the next record goes to a continuation file and the failure clears.
        File.Delete(Path.Combine(directory, "0000000001.wal"));
        var after = Record(2000, 1000);
        await wal.AppendAsync(after);
        Assert.Null(wal.Failure);
        await wal.DisposeAsync();
        // One continuation per failed batch; the record is in the last one, never behind a failed write.
        var last = Directory.GetFiles(directory, "0000000001_*.wal").Order(StringComparer.Ordinal).Last();
        Assert.Equal(after.Length + 8L, new FileInfo(last).Length);

        var replayed = WriteAheadLog.ReadSegment(directory, 1, NullLogger.Instance).ToList();
        Assert.Equal([after], replayed);
    }

    [Fact]
    public async Task Records_after_a_torn_file_are_replayed_from_the_continuation()
    {
        using var dir = new TempDir();
        var wal = WriteAheadLog.Open(dir.Path, fsync: false, NullLogger.Instance, out _);
        var first = Record(1, 100);
        await wal.AppendAsync(first);
        await wal.DisposeAsync();
        // What a crash during a failed write can leave: a torn record at the end of the first file, later records in a continuation.
        File.AppendAllBytes(Path.Combine(dir.Path, "0000000001.wal"), [5, 0, 0, 0, 1, 2]);
        var later = Record(2, 100);
        File.WriteAllBytes(Path.Combine(dir.Path, "0000000001_0001.wal"), WriteAheadLog.Frame(later));

        var reopened = WriteAheadLog.Open(dir.Path, fsync: false, NullLogger.Instance, out var segments);
        await reopened.DisposeAsync();
        Assert.Equal([1L], segments);
        Assert.Equal([first, later], WriteAheadLog.ReadSegment(dir.Path, 1, NullLogger.Instance).ToList());
    }

    private static byte[] Record(int seed, int length)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}

/// <summary>Two ingesters on one data directory: the second waits for the first, or fails naming it.</summary>
public sealed class DataDirectoryLockTests
{
    [Fact]
    public async Task A_second_ingester_on_the_same_directory_fails_naming_the_holder_after_its_timeout()
    {
        using var dir = new TempDir();
        await using var first = await TestEngine.OpenAsync(dir.Path, null, TimeProvider.System);
        var second = new IngesterEngine(TestEngine.Options(dir.Path), new IngesterOptions { DataDirectoryLockTimeout = TimeSpan.FromMilliseconds(600) }, null);
        var e = await Assert.ThrowsAsync<IOException>(() => second.StartAsync(CancellationToken.None));
        Assert.Contains($"the data directory {dir.Path} is locked by another ingester (pid {Environment.ProcessId}", e.Message);
        Assert.False(second.IsStarted);
    }

    [Fact]
    public async Task A_second_ingester_waits_and_starts_once_the_first_is_gone()
    {
        using var dir = new TempDir();
        var first = await TestEngine.OpenAsync(dir.Path, null, TimeProvider.System);
        await first.PushAsync("t", Fixtures.Push([TestData.AllFixtureSeries(TestData.Start.ToUnixTimeMilliseconds())[0].Series]), CancellationToken.None);
        await using var second = new IngesterEngine(TestEngine.Options(dir.Path), new IngesterOptions(), null);
        var starting = second.StartAsync(CancellationToken.None);
        await Task.Delay(300, TestContext.Current.CancellationToken);
        Assert.False(starting.IsCompleted);
        Assert.False(second.IsStarted);

        await first.DisposeAsync();
        await starting.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        Assert.True(second.IsStarted);
        Assert.Equal(1, second.CurrentHeads["t"].ProfileCount);
    }
}
