using Microsoft.Extensions.Logging.Abstractions;
using Pyroscope.Storage;
using Pyroscope.Storage.Wal;
using Pyroscope.Testing;

namespace Pyroscope.Ingester.Tests;

/// <summary>
/// A small push's head append runs on the WAL's writer thread between its sync and its completion; a large one, or one
/// whose head is busy, is appended by the push's own task. Either way the push completes only once it is appended, and
/// an append that fails fails its push.
/// </summary>
public sealed class InlineAppendTests
{
    private const string WriterThread = "WAL writer";

    [Fact]
    public async Task The_durable_callback_runs_on_the_writer_before_the_append_completes()
    {
        using var dir = new TempDir();
        var wal = WriteAheadLog.Open(dir.Path, fsync: true, NullLogger.Instance, out _);
        string? thread = null;
        await wal.AppendAsync(new byte[100], () => thread = Thread.CurrentThread.Name);
        Assert.Equal(WriterThread, thread);
        await wal.DisposeAsync();
    }

    [Fact]
    public async Task A_callback_that_throws_fails_its_own_append_and_the_log_goes_on()
    {
        using var dir = new TempDir();
        var wal = WriteAheadLog.Open(dir.Path, fsync: true, NullLogger.Instance, out _);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => wal.AppendAsync(new byte[10], () => throw new InvalidOperationException("bug")));
        Assert.Equal("bug", error.Message);
        Assert.Null(wal.Failure);
        await wal.AppendAsync(new byte[10]);
        Assert.Equal(2 * (10 + 8), wal.BytesWritten);
        await wal.DisposeAsync();
        Assert.Equal(2, WriteAheadLog.ReadSegment(dir.Path, 1, NullLogger.Instance).Count());
    }

    [Fact]
    public async Task A_batch_the_disk_refuses_never_runs_its_callbacks()
    {
        using var disk = TmpfsMount.TryMount(1 << 20, out var reason);
        Assert.SkipWhen(disk is null, reason);
        var wal = WriteAheadLog.Open(Path.Combine(disk!.Path, "wal"), fsync: true, NullLogger.Instance, out _);
        var acknowledged = 0;
        var callbacks = 0;
        WalWriteException? failure = null;
        for (var i = 0; failure is null && i < 100; i++)
        {
            try
            {
                await wal.AppendAsync(new byte[100_000], () => callbacks++);
                acknowledged++;
            }
            catch (WalWriteException e)
            {
                failure = e;
            }
        }
        Assert.NotNull(failure);
        Assert.True(acknowledged > 0);
        Assert.Equal(acknowledged, callbacks);
        await wal.DisposeAsync();
    }

    [Fact]
    public async Task A_small_push_is_appended_by_the_writer_and_a_large_one_by_its_own_task()
    {
        using var dir = new TempDir();
        var (wal, heads) = Open(dir);
        string? small = null;
        string? large = null;
        await heads.LogThenAppendAsync("t", new byte[1000], _ => small = Thread.CurrentThread.Name);
        await heads.LogThenAppendAsync("t", new byte[200_000], _ => large = Thread.CurrentThread.Name);
        Assert.Equal(WriterThread, small);
        Assert.NotNull(large);
        Assert.NotEqual(WriterThread, large);
        await wal.DisposeAsync();
    }

    [Fact]
    public async Task A_push_whose_head_is_busy_waits_for_the_head_and_is_appended_by_its_own_task()
    {
        using var dir = new TempDir();
        var (wal, heads) = Open(dir);
        var appended = 0;
        await heads.LogThenAppendAsync("t", new byte[100], _ => appended++);
        var head = heads.Current["t"];
        await head.AppendGate.WaitAsync(TestContext.Current.CancellationToken);
        string? thread = null;
        var push = heads.LogThenAppendAsync("t", new byte[100], _ =>
        {
            thread = Thread.CurrentThread.Name;
            appended++;
        });
        // Durable (both records written and synced), yet not appended while the head is held, so not acknowledged.
        var written = 2 * (100 + 8);
        while (wal.BytesWritten < written)
        {
            await Task.Delay(5, TestContext.Current.CancellationToken);
        }
        Assert.False(push.IsCompleted);
        Assert.Equal(1, appended);
        head.AppendGate.Release();
        await push;
        Assert.Equal(2, appended);
        Assert.NotEqual(WriterThread, thread);
        await wal.DisposeAsync();
    }

    [Fact]
    public async Task The_writer_never_waits_for_a_locked_head_and_other_tenants_are_acknowledged_meanwhile()
    {
        using var dir = new TempDir();
        var (wal, heads) = Open(dir);
        await heads.LogThenAppendAsync("a", new byte[100], _ => { });
        var head = heads.Current["a"];
        using var holding = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        // Holds tenant a's lock as a long query would.
        var holder = Task.Factory.StartNew(() => head.TryAppendWithoutWaiting(_ =>
        {
            holding.Set();
            release.Wait();
        }), TestContext.Current.CancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            holding.Wait(TestContext.Current.CancellationToken);
            string? thread = null;
            var blocked = heads.LogThenAppendAsync("a", new byte[100], h =>
            {
                h.Append([], 0);
                thread = Thread.CurrentThread.Name;
            });
            await heads.LogThenAppendAsync("b", new byte[100], h => h.Append([], 0)).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
            Assert.False(blocked.IsCompleted);
            release.Set();
            await blocked;
            Assert.NotEqual(WriterThread, thread);
        }
        finally
        {
            release.Set();
            await holder;
        }
        await wal.DisposeAsync();
    }

    [Fact]
    public async Task An_inline_append_that_throws_fails_its_push_and_the_generation_still_settles()
    {
        using var dir = new TempDir();
        var (wal, heads) = Open(dir);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            heads.LogThenAppendAsync("t", new byte[100], _ => throw new InvalidOperationException("append failed")));
        Assert.Equal("append failed", error.Message);
        Assert.Contains(nameof(InlineAppendTests), error.StackTrace);
        // The writer is unharmed: the next push is appended, and a cut settles (no append counted in flight).
        var appended = false;
        await heads.LogThenAppendAsync("t", new byte[100], _ => appended = true);
        Assert.True(appended);
        heads.Cut();
        var cut = heads.OldestCut();
        Assert.NotNull(cut);
        await cut.Settled.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        await wal.DisposeAsync();
    }

    private static (WriteAheadLog Wal, HeadSet Heads) Open(TempDir dir)
    {
        var wal = WriteAheadLog.Open(dir.Path, fsync: true, NullLogger.Instance, out _);
        var heads = new HeadSet(wal, new PyroscopeDbOptions { DataPath = dir.Path }, TimeProvider.System, new object());
        return (wal, heads);
    }
}
