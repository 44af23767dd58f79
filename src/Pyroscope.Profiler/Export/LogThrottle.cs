namespace Pyroscope.Profiler.Export;

/// <summary>
/// Lets a message of one cause through once per period and counts what it held back in between, so a
/// server that stays down costs the host's log one line a minute per cause, not one per upload.
/// </summary>
internal sealed class LogThrottle(TimeProvider time, TimeSpan period)
{
    private readonly Dictionary<string, (DateTimeOffset Last, int Suppressed)> _byCause = new(StringComparer.Ordinal);
    private readonly object _gate = new();

    /// <summary>True when <paramref name="cause"/> may be logged now; <paramref name="suppressed"/> is how many were held back since.</summary>
    public bool ShouldLog(string cause, out int suppressed)
    {
        var now = time.GetUtcNow();
        lock (_gate)
        {
            if (_byCause.TryGetValue(cause, out var entry) && now - entry.Last < period)
            {
                _byCause[cause] = (entry.Last, entry.Suppressed + 1);
                suppressed = 0;
                return false;
            }
            if (_byCause.Count > 64)
            {
                // Causes carry server messages; never let their variety grow the table without bound.
                _byCause.Clear();
            }
            suppressed = entry.Suppressed;
            _byCause[cause] = (now, 0);
            return true;
        }
    }
}
