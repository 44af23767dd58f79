using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Pyroscope.Profiler.Export;

/// <summary>
/// Bounded hand-off between the event thread and the exporter: a full queue drops its oldest
/// window, a failing server is retried with backoff, nothing here ever throws into the host.
/// </summary>
internal sealed class UploadQueue : IAsyncDisposable
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    private readonly IProfileExporter _exporter;
    private readonly ILogger _logger;
    private readonly TimeSpan _maxAge;
    private readonly Channel<ProfileBatch> _channel;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;
    private long _dropped;

    public UploadQueue(IProfileExporter exporter, int capacity, TimeSpan maxAge, ILogger logger)
    {
        _exporter = exporter;
        _logger = logger;
        _maxAge = maxAge;
        _channel = Channel.CreateBounded<ProfileBatch>(
            new BoundedChannelOptions(capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            OnDropped);
        _loop = Task.Run(RunAsync);
    }

    public long Exported { get; private set; }

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
        Interlocked.Increment(ref _dropped);
        _logger.LogWarning("Pyroscope profiler dropped the profiles of {From:o}..{Until:o}: the upload queue is full.", batch.From, batch.Until);
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
                Exported++;
                return;
            }
            catch (ProfileExportException e) when (e.Retryable && DateTimeOffset.UtcNow - batch.Until < _maxAge)
            {
                _logger.LogWarning("Pyroscope profiler upload failed, retrying in {Backoff}: {Reason}", backoff, e.Message);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e)
            {
                // Rejected for good (4xx, too old) or an exporter bug: give this window up, keep the loop alive.
                Interlocked.Increment(ref _dropped);
                _logger.LogError(e, "Pyroscope profiler gave up the profiles of {From:o}..{Until:o}.", batch.From, batch.Until);
                return;
            }
            await Task.Delay(backoff, token).ConfigureAwait(false);
            backoff = backoff * 2 > MaxBackoff ? MaxBackoff : backoff * 2;
        }
    }

    /// <summary>Lets queued windows go out for up to <paramref name="grace"/>, then stops.</summary>
    public async ValueTask StopAsync(TimeSpan grace)
    {
        _channel.Writer.TryComplete();
        if (await Task.WhenAny(_loop, Task.Delay(grace)).ConfigureAwait(false) != _loop)
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
