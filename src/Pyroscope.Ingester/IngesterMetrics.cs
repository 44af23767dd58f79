using System.Diagnostics.Metrics;
using Pyroscope.Storage.Wal;

namespace Pyroscope.Ingester;

/// <summary>
/// Meter <see cref="MeterName"/> on /metrics: what the head holds per tenant (series, profiles, estimated bytes), cut
/// heads waiting to be written, the WAL's bytes on disk and written, fsync latency, and every refused push by reason
/// (<c>insufficient_storage</c> and <c>wal_unavailable</c> when the WAL cannot be written, <c>series_limit</c>,
/// <c>starting</c>). <c>pyroscope_ingester_wal_writable</c> is 0 while the WAL refuses writes.
/// </summary>
internal sealed class IngesterMetrics : IDisposable
{
    public const string MeterName = "Pyroscope.Ingester";

    private readonly Meter _meter;
    private readonly Histogram<double> _fsync;
    private readonly Counter<long> _refused;

    public IngesterMetrics(IngesterEngine engine, IMeterFactory? meterFactory)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _meter.CreateObservableGauge("pyroscope_ingester_head_series", () => HeadMeasurements(engine, static h => h.SeriesCount),
            description: "Series in the head being written, per tenant.");
        _meter.CreateObservableGauge("pyroscope_ingester_head_profiles", () => HeadMeasurements(engine, static h => h.ProfileCount),
            description: "Profiles in the head being written, per tenant.");
        _meter.CreateObservableGauge("pyroscope_ingester_head_bytes", () => HeadMeasurements(engine, static h => h.EstimatedBytes),
            "bytes", "Memory the head being written holds (its estimate, which decides when it is cut), per tenant.");
        _meter.CreateObservableGauge("pyroscope_ingester_head_cuts_pending", () => engine.PendingCuts,
            description: "Heads cut and not yet written as local blocks.");
        _meter.CreateObservableGauge("pyroscope_ingester_wal_bytes", () => engine.Wal?.BytesOnDisk ?? 0,
            "bytes", "Bytes of WAL segments on disk not yet released by a flush.");
        _meter.CreateObservableCounter("pyroscope_ingester_wal_written_bytes_total", () => engine.Wal?.BytesWritten ?? 0,
            "bytes", "Bytes written to the WAL (record headers included).");
        _meter.CreateObservableCounter("pyroscope_ingester_wal_failed_appends_total", () => engine.Wal?.FailedAppends ?? 0,
            description: "Pushes refused because the WAL could not be written.");
        _meter.CreateObservableCounter("pyroscope_ingester_wal_disk_full_total", () => engine.Wal?.OutOfSpaceFailures ?? 0,
            description: "WAL writes that failed because the disk or a quota was full.");
        _meter.CreateObservableGauge("pyroscope_ingester_wal_writable", () => engine.Wal is { Failure: null } ? 1 : 0,
            description: "1 while the WAL accepts writes, 0 while it refuses them (see /health).");
        _fsync = _meter.CreateHistogram<double>("pyroscope_ingester_wal_fsync_duration_seconds", "s", "Duration of each WAL fsync (one per group-committed batch).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] });
        _refused = _meter.CreateCounter<long>("pyroscope_ingester_refused_pushes_total", description: "Pushes the ingester refused, by reason and tenant.");
    }

    public void Synced(TimeSpan duration) => _fsync.Record(duration.TotalSeconds);

    public void Refused(string reason, string tenant) =>
        _refused.Add(1, new KeyValuePair<string, object?>("reason", reason), new KeyValuePair<string, object?>("tenant", tenant));

    /// <summary>The refusal reason of a failed push.</summary>
    public static string ReasonOf(Exception error) => error switch
    {
        WalWriteException { OutOfSpace: true } => "insufficient_storage",
        WalWriteException => "wal_unavailable",
        Model.SeriesLimitExceededException => "series_limit",
        IngesterStartingException => "starting",
        _ => "other",
    };

    private static IEnumerable<Measurement<long>> HeadMeasurements(IngesterEngine engine, Func<Storage.Head.TenantHead, long> value)
    {
        foreach (var (tenant, head) in engine.CurrentHeads)
        {
            yield return new Measurement<long>(value(head), new KeyValuePair<string, object?>("tenant", tenant));
        }
    }

    public void Dispose() => _meter.Dispose();
}
