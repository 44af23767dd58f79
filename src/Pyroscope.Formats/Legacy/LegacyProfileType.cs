namespace Pyroscope.Formats.Legacy;

/// <summary>
/// How upstream's ingest adapter maps the legacy type suffix of <c>name=app.type</c> to a metric name and
/// sample type/unit (pkg/ingester/pyroscope/ingest_adapter.go, convertMetadata).
/// </summary>
public sealed record LegacyProfileType(string AppName, string MetricName, string SampleType, string SampleUnit)
{
    public bool IsTimeBased => MetricName is "process_cpu" or "wall";

    /// <summary>Splits <paramref name="fullName"/> at its last dot; no dot means cpu. Unknown suffix → error.</summary>
    public static LegacyProfileType FromAppName(string fullName)
    {
        var dot = fullName.LastIndexOf('.');
        var app = dot < 0 ? fullName : fullName[..dot];
        var suffix = dot < 0 ? "cpu" : fullName[(dot + 1)..];
        var (metric, type, unit) = suffix switch
        {
            "cpu" or "itimer" => ("process_cpu", "samples", "count"),
            "wall" => ("wall", "samples", "count"),
            "inuse_objects" => ("memory", "inuse_objects", "count"),
            "inuse_space" => ("memory", "inuse_space", "bytes"),
            "alloc_objects" => ("memory", "alloc_objects", "count"),
            "alloc_space" => ("memory", "alloc_space", "bytes"),
            "goroutines" => ("goroutine", "goroutines", "count"),
            "mutex_count" => ("mutex", "contentions", "count"),
            "mutex_duration" => ("mutex", "delay", "nanoseconds"),
            "block_count" => ("block", "contentions", "count"),
            "block_duration" => ("block", "delay", "nanoseconds"),
            "alloc_in_new_tlab_objects" => ("memory", "alloc_in_new_tlab_objects", "count"),
            "alloc_in_new_tlab_bytes" => ("memory", "alloc_in_new_tlab_bytes", "bytes"),
            "alloc_outside_tlab_objects" => ("memory", "alloc_outside_tlab_objects", "count"),
            "alloc_outside_tlab_bytes" => ("memory", "alloc_outside_tlab_bytes", "bytes"),
            "lock_count" => ("block", "contentions", "count"),
            "lock_duration" => ("block", "delay", "nanoseconds"),
            "live" => ("memory", "live", "count"),
            "exceptions" => ("exceptions", "samples", "count"),
            "seconds" or "nanoseconds" or "microseconds" or "milliseconds" => ("wall", "samples", "count"),
            "bytes" => ("memory", "samples", "bytes"),
            _ => throw new ProfileFormatException(
                $"invalid name \"{fullName}\": unknown profile type \"{suffix}\" (the part after the last dot of the app name; e.g. cpu, wall, inuse_space, alloc_objects, goroutines, mutex_count, block_duration)"),
        };
        return new LegacyProfileType(app, metric, type, unit);
    }
}
