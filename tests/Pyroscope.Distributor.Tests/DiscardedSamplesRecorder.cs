using System.Diagnostics.Metrics;

namespace Pyroscope.Distributor.Tests;

/// <summary>Records every <c>pyroscope_discarded_samples_total</c> increment with its reason and tenant tags.</summary>
public sealed class DiscardedSamplesRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly List<(long Value, string Reason, string Tenant)> _increments = [];

    public DiscardedSamplesRecorder()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == DistributorMetrics.MeterName && instrument.Name == "pyroscope_discarded_samples_total")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? reason = null, tenant = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "reason") { reason = tag.Value as string; }
                if (tag.Key == "tenant") { tenant = tag.Value as string; }
            }
            lock (_increments) { _increments.Add((value, reason!, tenant!)); }
        });
        _listener.Start();
    }

    /// <summary>A copy of the increments so far.</summary>
    public List<(long Value, string Reason, string Tenant)> Increments
    {
        get
        {
            lock (_increments)
            {
                return [.. _increments];
            }
        }
    }

    public void Dispose() => _listener.Dispose();
}
