using Pyroscope.Storage.Ingestion;

namespace Pyroscope.Ingester;

/// <summary>Opens the engine at start (WAL replay), runs the cut/flush/upload loop, flushes everything at shutdown.</summary>
internal sealed class IngesterFlushService(IngesterEngine engine, TimeProvider time, ILogger<IngesterFlushService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(engine.Options.FlushCheckInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await engine.RunMaintenanceAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogError(e, "Ingester flush round failed; data stays in the WAL and local blocks.");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await engine.ShutdownAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogError(e, "Flushing at shutdown failed; the WAL is replayed at the next start.");
        }
        await engine.DisposeAsync();
    }
}
