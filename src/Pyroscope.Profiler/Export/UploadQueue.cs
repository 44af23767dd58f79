using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Pyroscope.Profiler.Export;

/// <summary>
/// Bounded hand-off between the sampling thread and the exporter: a full queue drops its oldest
/// window, a failing server is retried with backoff, nothing here ever throws into the host. A
/// successful upload logs nothing; failures and drops log once per cause per minute (with how many
/// were held back), so a server that is down for hours costs a few lines, and memory stays bounded by
/// <c>capacity</c> windows.
/// </summary>
internal sealed class UploadQueue : IAsyncDisposable
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan LogPeriod = TimeSpan.FromMinutes(1);

    private readonly IProfileExporter _exporter;
    private readonly ILogger _logger;
    private readonly TimeSpan _maxAge;
    private readonly TimeProvider _time;
    private readonly LogThrottle _throttle;
    private readonly Channel<ProfileBatch> _channel;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;
    private long _dropped;
    private long _exported;
    private volatile bool _failing;

    public UploadQueue(IProfileExporter exporter, int capacity, TimeSpan maxAge, ILogger logger, TimeProvider? time = null)
    {
        _exporter = exporter;
        _logger = logger;
        _maxAge = maxAge;
        _time = time ?? TimeProvider.System;
        _throttle = new LogThrottle(_time, LogPeriod);
        _channel = Channel.CreateBounded<ProfileBatch>(
            new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            OnDropped);
        _loop = Task.Run(RunAsync);
    }

    public long Exported => Interlocked.Read(ref _exported);

    /// <summary>Windows given up: pushed out of a full queue, refused for good, or too old to retry.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public void Enqueue(ProfileBatch batch)
    {
        if (!_channel.Writer.TryWrite(batch))
        {
            OnDropped(batch);
        }
    }

    private void OnDropped(ProfileBatch batch)
    {
        var dropped = Interlocked.Increment(ref _dropped);
        if (_throttle.ShouldLog("queue full", out _))
        {
            _logger.LogWarning("Pyroscope profiler is dropping profiles: the upload queue is full (the server has not accepted uploads for a while); {Dropped} windows dropped so far.", dropped);
        }
    }

    private async Task RunAsync()
    {
        var token = _stopping.Token;
        try
        {
            await foreach (var batch in _channel.Reader.ReadAllAsync(token).ConfigureAwait(false))
            {
                await ExportWithRetryAsync(batch, token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }

    private async Task ExportWithRetryAsync(ProfileBatch batch, CancellationToken token)
    {
        var backoff = TimeSpan.FromSeconds(1);
        while (true)
        {
            try
            {
                await _exporter.ExportAsync(batch, token).ConfigureAwait(false);
                Interlocked.Increment(ref _exported);
                _failing = false;
                return;
            }
            catch (ProfileExportException e) when (e.Retryable && _time.GetUtcNow() - batch.Until < _maxAge)
            {
                _failing = true;
                LogFailure(e.Message, "Pyroscope profiler upload failed, retrying: {Reason} ({Suppressed} similar failures since the last message)", e.Message);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e)
            {
                // Refused for good (4xx), too old, or an exporter bug: give this window up, keep the loop alive.
                var dropped = Interlocked.Increment(ref _dropped);
                LogFailure("gave up: " + e.Message, "Pyroscope profiler gave up a window of profiles: {Reason} ({Suppressed} similar since the last message; " + dropped + " windows dropped so far)", e.Message);
                return;
            }
            await Task.Delay(backoff, _time, token).ConfigureAwait(false);
            backoff = backoff * 2 > MaxBackoff ? MaxBackoff : backoff * 2;
        }
    }

    private void LogFailure(string cause, string message, string reason)
    {
        if (_throttle.ShouldLog(cause, out var suppressed))
        {
#pragma warning disable CA2254 // the template is one of two constants above
            _logger.LogWarning(message, reason, suppressed);
#pragma warning restore CA2254
        }
    }

    /// <summary>Lets queued windows go out for up to <paramref name="grace"/> (not at all while the server fails: a host stopping must not wait for it), then stops.</summary>
    public async ValueTask StopAsync(TimeSpan grace)
    {
        _channel.Writer.TryComplete();
        if (_failing)
        {
            grace = TimeSpan.Zero;
        }
        if (await Task.WhenAny(_loop, Task.Delay(grace)).ConfigureAwait(false) != _loop && _channel.Reader.Count > 0)
        {
            _logger.LogWarning("Pyroscope profiler stopped before all profiles were uploaded.");
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.Zero).ConfigureAwait(false);
        _stopping.Dispose();
    }
}
