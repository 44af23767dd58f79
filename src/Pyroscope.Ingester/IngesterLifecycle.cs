namespace Pyroscope.Ingester;

/// <summary>
/// The ingester's one hosted service. Starting: opens and replays the WAL (the host, or the module running it,
/// is Starting until that completes; pushes and reads meanwhile get <see cref="IngesterStartingException"/>).
/// Running: the cut/flush/upload/cleanup loop every <see cref="IngesterOptions.FlushCheckInterval"/>. Stopping:
/// cuts and flushes everything and tries one upload; what fails stays in the WAL and local blocks for the next start.
/// In a ring the lifecycler stops first and has done this already (<see cref="IngesterHandOver"/>): then there is
/// nothing left to cut or upload.
/// </summary>
internal sealed class IngesterLifecycle(IngesterEngine engine, TimeProvider time, ILogger<IngesterLifecycle> logger) : BackgroundService
{
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await engine.StartAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(engine.Options.FlushCheckInterval, time);
        try
        {
            Task<bool>? tick = null;
            while (true)
            {
                // The timer, or earlier when the heads reach max_head_bytes; a pending tick is kept for the next round.
                tick ??= timer.WaitForNextTickAsync(stoppingToken).AsTask();
                if (await Task.WhenAny(tick, engine.MaintenanceRequested) == tick)
                {
                    if (!await tick)
                    {
                        break;
                    }
                    tick = null;
                }
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
