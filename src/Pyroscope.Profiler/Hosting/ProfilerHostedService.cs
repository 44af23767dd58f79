using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Pyroscope.Profiler.Hosting;

/// <summary>
/// Runs the profiler for the life of a host. It starts once the application has started (so a
/// server profiling itself is already listening when the first window is pushed; failed pushes are
/// retried anyway) and flushes on shutdown. Nothing it does throws into the host.
/// </summary>
internal sealed class ProfilerHostedService(
    IOptions<ProfilerOptions> options,
    IHostApplicationLifetime lifetime,
    ILogger<ProfilerHostedService> logger) : IHostedService
{
    private readonly object _gate = new();
    private IAsyncDisposable? _profiler;
    private bool _stopped;
    private CancellationTokenRegistration _onStarted;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _onStarted = lifetime.ApplicationStarted.Register(() => ThreadPool.QueueUserWorkItem(_ => StartProfiler()));
        return Task.CompletedTask;
    }

    private void StartProfiler()
    {
        try
        {
            var profiler = PyroscopeProfiler.Start(options.Value, logger);
            lock (_gate)
            {
                if (!_stopped)
                {
                    _profiler = profiler;
                    return;
                }
            }
            _ = profiler.DisposeAsync().AsTask();
        }
        catch (Exception e)
        {
            logger.LogError(e, "Pyroscope profiler is misconfigured; profiling is off.");
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _onStarted.DisposeAsync().ConfigureAwait(false);
        IAsyncDisposable? profiler;
        lock (_gate)
        {
            _stopped = true;
            profiler = _profiler;
            _profiler = null;
        }
        if (profiler is not null)
        {
            try
            {
                await profiler.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Pyroscope profiler did not stop cleanly.");
            }
        }
    }
}
