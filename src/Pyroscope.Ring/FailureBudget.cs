namespace Pyroscope.Ring;

/// <summary>
/// Counts the failed calls of one fan-out to a replication set: up to <c>maxErrors</c> are tolerated; the first
/// one beyond cancels <paramref name="failFast"/> (the calls still running) and makes the fan-out fail with the
/// first failure recorded. Thread-safe.
/// </summary>
public sealed class FailureBudget(int maxErrors, CancellationTokenSource failFast)
{
    private readonly Lock _lock = new();
    private Exception? _first;
    private int _failures;

    public void Record(Exception failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        lock (_lock)
        {
            // Calls cancelled because the budget ran out fail too; the first failure is the one to report.
            _first ??= failure;
            if (++_failures > maxErrors)
            {
                failFast.Cancel();
            }
        }
    }

    /// <summary>Throws the first failure recorded when more than the tolerated number failed.</summary>
    public void ThrowIfExceeded()
    {
        lock (_lock)
        {
            if (_failures > maxErrors)
            {
                throw _first!;
            }
        }
    }
}
