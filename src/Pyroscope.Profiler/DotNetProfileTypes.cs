namespace Pyroscope.Profiler;

/// <summary>
/// A profile type as Pyroscope identifies it: <c>name:sample_type:sample_unit:period_type:period_unit</c>
/// (the <c>__name__</c> label, then the pprof's sample and period types).
/// </summary>
public sealed record ProfileType(string Name, string SampleType, string SampleUnit, string PeriodType, string PeriodUnit)
{
    public string Id => $"{Name}:{SampleType}:{SampleUnit}:{PeriodType}:{PeriodUnit}";

    public override string ToString() => Id;
}

/// <summary>
/// The profile types the .NET profiler and the .nettrace converter produce, named as upstream's .NET
/// agent (grafana/pyroscope-dotnet) names them, so Grafana's profile-type menu reads the same: its
/// <c>__name__</c> per type and its sample types (alloc_samples/alloc_size, lock_count/lock_time,
/// exception), with its period types (space/bytes for memory, cpu/nanoseconds for the rest). Wall keeps
/// wall/nanoseconds as its period, as this server's earlier releases stored it.
/// </summary>
public static class DotNetProfileTypes
{
    public static readonly ProfileType Cpu = new("process_cpu", "cpu", "nanoseconds", "cpu", "nanoseconds");
    public static readonly ProfileType Wall = new("wall", "wall", "nanoseconds", "wall", "nanoseconds");
    public static readonly ProfileType AllocSamples = new("memory", "alloc_samples", "count", "space", "bytes");
    public static readonly ProfileType AllocSize = new("memory", "alloc_size", "bytes", "space", "bytes");
    public static readonly ProfileType LockCount = new("lock", "lock_count", "count", "cpu", "nanoseconds");
    public static readonly ProfileType LockTime = new("lock", "lock_time", "nanoseconds", "cpu", "nanoseconds");
    public static readonly ProfileType Exception = new("exception", "exception", "count", "cpu", "nanoseconds");
}
