using System.Collections.Concurrent;
using Pyroscope.Profiler.Export;

namespace Pyroscope.Profiler.Tests;

internal sealed class CapturingExporter : IProfileExporter
{
    private readonly SemaphoreSlim _arrived = new(0);

    public ConcurrentQueue<ProfileBatch> Batches { get; } = new();

    /// <summary>Failures to answer before accepting (to exercise retries).</summary>
    public int FailuresBeforeSuccess { get; set; }

    public int Attempts;

    public Task ExportAsync(ProfileBatch batch, CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref Attempts) <= FailuresBeforeSuccess)
        {
            throw new ProfileExportException("server not there yet", retryable: true);
        }
        Batches.Enqueue(batch);
        _arrived.Release();
        return Task.CompletedTask;
    }

    public async Task WaitForAsync(Func<ProfileBatch, bool> predicate, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (!Batches.Any(predicate))
        {
            await _arrived.WaitAsync(cts.Token);
        }
    }
}
