using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Pyroscope.Compactor;

/// <summary>Runs a compaction round every <see cref="CompactorOptions.Interval"/>; a failed round is logged and retried next time.</summary>
internal sealed class CompactorService(Compactor compactor, CompactorOptions options, TimeProvider time, ILogger<CompactorService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await compactor.RunOnceAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError(e, "Compaction round failed.");
            }
            try
            {
                await Task.Delay(options.Interval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
