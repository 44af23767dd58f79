namespace Pyroscope.Ingester;

/// <summary>
/// The ingester's own knobs, next to the storage engine's <see cref="Storage.PyroscopeDbOptions"/> (the
/// <c>pyroscopedb</c> section). Not configurable from flags or YAML: the defaults are upstream's behaviour.
/// </summary>
public sealed class IngesterOptions
{
    /// <summary>How often the flush loop checks whether to cut, upload and clean up.</summary>
    public TimeSpan FlushCheckInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest pause between upload retries while the object store is down.</summary>
    public TimeSpan MaxUploadBackoff { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>A series counts against the tenant's series limit until it has received no profile for this long (upstream: 10m).</summary>
    public TimeSpan ActiveSeriesTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long a start waits for another process to release the data directory before it fails.</summary>
    public TimeSpan DataDirectoryLockTimeout { get; set; } = TimeSpan.FromMinutes(10);
}
