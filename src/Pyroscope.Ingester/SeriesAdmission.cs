using System.Collections.Concurrent;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Model;
using Pyroscope.Storage.Head;

namespace Pyroscope.Ingester;

/// <summary>
/// Which series each tenant may write: a push whose new series would exceed the tenant's active-series limit is
/// refused whole, before the WAL or a head see any of it. Series stay active for
/// <see cref="IngesterOptions.ActiveSeriesTimeout"/> after their last profile, across head cuts and restarts.
/// </summary>
internal sealed class SeriesAdmission(IngesterOptions options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, ActiveSeries> _active = new(StringComparer.Ordinal);

    /// <summary>Each tenant's active-series limit; null enforces none.</summary>
    public ISeriesLimits? Limits { get; set; }

    public int ActiveCount(string tenantId) => _active.TryGetValue(tenantId, out var active) ? active.Count : 0;

    /// <summary>The labels of every series, validated (a bad one refuses the whole push with an <see cref="ArgumentException"/>).</summary>
    public static LabelSet[] LabelsOf(PushRequest request)
    {
        var labels = new LabelSet[request.Series.Count];
        for (var i = 0; i < labels.Length; i++)
        {
            labels[i] = TenantHead.ToLabelSet(request.Series[i]);
        }
        return labels;
    }

    /// <summary>Marks the push's series active, or throws <see cref="SeriesLimitExceededException"/> and marks none.</summary>
    public void Admit(string tenantId, LabelSet[] labels)
    {
        var refusal = ActiveOf(tenantId).TryAdmit(labels, time.GetUtcNow().UtcTicks, Limits, tenantId);
        if (refusal is { } r)
        {
            throw new SeriesLimitExceededException(SeriesLimitExceededException.Describe(tenantId, r.Active, r.New, r.Limit.Effective, r.Limit.Source()));
        }
    }

    /// <summary>Marks series active without a limit: WAL replay, they were admitted before the restart.</summary>
    public void Track(string tenantId, LabelSet[] labels, long seenTicks) => ActiveOf(tenantId).Track(labels, seenTicks);

    /// <summary>Forgets series that have been idle longer than the active-series timeout.</summary>
    public void RemoveIdle()
    {
        var cutoff = time.GetUtcNow().UtcTicks - options.ActiveSeriesTimeout.Ticks;
        foreach (var (_, active) in _active)
        {
            active.RemoveIdle(cutoff);
        }
    }

    private ActiveSeries ActiveOf(string tenantId) => _active.GetOrAdd(tenantId, static _ => new ActiveSeries());
}
