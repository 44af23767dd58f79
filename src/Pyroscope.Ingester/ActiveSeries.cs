using Pyroscope.Model;

namespace Pyroscope.Ingester;

/// <summary>
/// The series of one tenant that received a profile recently (upstream's limiter: a series stays active
/// for <see cref="IngesterOptions.ActiveSeriesTimeout"/> after its last profile, across head cuts). Admission
/// is all-or-nothing per push and serialised per tenant, so concurrent pushes cannot overshoot the limit.
/// Keyed by label fingerprint, as upstream does.
/// </summary>
internal sealed class ActiveSeries
{
    private readonly Lock _lock = new();
    private readonly Dictionary<ulong, long> _lastSeenTicks = [];

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _lastSeenTicks.Count;
            }
        }
    }

    /// <summary>
    /// Marks every series of the push active, or none when the new ones would exceed the limit; the limit is
    /// only looked up when the push brings a series not yet active.
    /// </summary>
    public Refusal? TryAdmit(LabelSet[] series, long nowTicks, ISeriesLimits? limits, string tenantId)
    {
        lock (_lock)
        {
            HashSet<ulong>? added = null;
            for (var i = 0; i < series.Length; i++)
            {
                var fingerprint = series[i].Fingerprint;
                if (!_lastSeenTicks.ContainsKey(fingerprint))
                {
                    (added ??= []).Add(fingerprint);
                }
            }
            if (added is not null)
            {
                var limit = limits?.For(tenantId) ?? SeriesLimit.Unlimited;
                var effective = limit.Effective;
                if (effective > 0 && _lastSeenTicks.Count + added.Count > effective)
                {
                    return new Refusal(_lastSeenTicks.Count, added.Count, limit);
                }
            }
            Touch(series, nowTicks);
            return null;
        }
    }

    /// <summary>Marks series active without a limit (WAL replay: they were admitted before the restart).</summary>
    public void Track(LabelSet[] series, long seenTicks)
    {
        lock (_lock)
        {
            Touch(series, seenTicks);
        }
    }

    /// <summary>Forgets series idle since before <paramref name="cutoffTicks"/>; returns how many.</summary>
    public int RemoveIdle(long cutoffTicks)
    {
        lock (_lock)
        {
            var removed = 0;
            foreach (var (fingerprint, lastSeen) in _lastSeenTicks)
            {
                if (lastSeen < cutoffTicks)
                {
                    // Removing during enumeration is allowed for Dictionary since .NET Core 3.0.
                    _lastSeenTicks.Remove(fingerprint);
                    removed++;
                }
            }
            return removed;
        }
    }

    private void Touch(LabelSet[] series, long ticks)
    {
        for (var i = 0; i < series.Length; i++)
        {
            ref var slot = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_lastSeenTicks, series[i].Fingerprint, out _);
            slot = Math.Max(slot, ticks);
        }
    }

    public readonly record struct Refusal(int Active, int New, SeriesLimit Limit);
}
