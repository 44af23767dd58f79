namespace Pyroscope.Ring;

/// <summary>
/// Counts the failed calls of one fan-out to a replication set: up to <c>maxErrors</c> are tolerated; the first
/// one beyond cancels <paramref name="failFast"/> (the calls still running) and makes the fan-out fail. Keeps the
/// failures up to that one (the calls cancelled because of it fail too, but are not the cause). Thread-safe.
/// </summary>
public sealed class FailureBudget(int maxErrors, CancellationTokenSource failFast)
{
    private readonly Lock _lock = new();
    private readonly List<Exception> _failures = [];

    public void Record(Exception failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        lock (_lock)
        {
            if (_failures.Count > maxErrors)
            {
                return;
            }
            _failures.Add(failure);
            if (_failures.Count > maxErrors)
            {
                failFast.Cancel();
            }
        }
    }

    /// <summary>Whether more than the tolerated number of calls failed.</summary>
    public bool Exceeded
    {
        get
        {
            lock (_lock)
            {
                return _failures.Count > maxErrors;
            }
        }
    }

    /// <summary>The failures recorded, in order, up to the first one beyond the budget.</summary>
    public IReadOnlyList<Exception> Failures
    {
        get
        {
            lock (_lock)
            {
                return [.. _failures];
            }
        }
    }

    /// <summary>Throws the first failure recorded when more than the tolerated number failed.</summary>
    public void ThrowIfExceeded()
    {
        lock (_lock)
        {
            if (_failures.Count > maxErrors)
            {
                throw _failures[0];
            }
        }
    }
}
