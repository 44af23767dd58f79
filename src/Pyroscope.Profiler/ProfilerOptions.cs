using Pyroscope.Profiler.Export;

namespace Pyroscope.Profiler;

/// <summary>Settings of the in-process .NET profiler (see <see cref="ProfilerEnvironment"/> for upstream's environment variables).</summary>
public sealed class ProfilerOptions
{
    /// <summary>The <c>service_name</c> profiles are stored under.</summary>
    public string ApplicationName { get; set; } = string.Empty;

    /// <summary>Base address of the Pyroscope server, e.g. <c>http://localhost:4040</c>.</summary>
    public string ServerAddress { get; set; } = "http://localhost:4040";

    /// <summary>Static labels added to every profile (keys: letters, digits, <c>_</c> and <c>.</c>).</summary>
    public IDictionary<string, string> Tags { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>How much time one pushed profile covers.</summary>
    public TimeSpan UploadInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long of every <see cref="UploadInterval"/> the process is actually sampled (at a random
    /// offset inside the window, so periodic work is not always missed); the window's values are
    /// scaled by window length / sampled time so totals stay time-correct. The EventPipe sampler
    /// costs CPU for every sampled wall second, so this is what bounds the overhead. At or above
    /// <see cref="UploadInterval"/> sampling is continuous.
    /// </summary>
    public TimeSpan SampledDurationPerInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Sent as <c>X-Scope-OrgID</c> when set (multi-tenant servers).</summary>
    public string? TenantId { get; set; }

    public string? BasicAuthUser { get; set; }

    public string? BasicAuthPassword { get; set; }

    /// <summary>Extra headers sent with every push (e.g. a bearer token for a gateway).</summary>
    public IDictionary<string, string> HttpHeaders { get; set; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>False turns the profiler into a no-op (handy to switch it off by configuration).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary><c>process_cpu</c>: samples weighted by the CPU time the OS charged their thread.</summary>
    public bool CpuEnabled { get; set; } = true;

    /// <summary><c>wall</c>: every managed thread's time, running or waiting.</summary>
    public bool WallEnabled { get; set; } = true;

    /// <summary>
    /// <c>memory</c> alloc_samples/alloc_size from GC AllocationTick (about one stack walk per 100 KB
    /// allocated). Off by default, as in upstream's .NET agent: on allocation-heavy code it costs CPU.
    /// </summary>
    public bool CollectAllocations { get; set; }

    /// <summary><c>lock</c> lock_count/lock_time: Monitor and Lock contention, from the runtime's contention events.</summary>
    public bool LockEnabled { get; set; } = true;

    /// <summary><c>exception</c>: thrown exceptions per throwing stack, the exception type as the leaf frame.</summary>
    public bool ExceptionEnabled { get; set; } = true;

    /// <summary>
    /// Span profiles: cpu and wall samples taken while an <see cref="System.Diagnostics.Activity"/> (an
    /// OpenTelemetry span) is current on the thread carry its local root span's id as <c>span_id</c>.
    /// </summary>
    public bool SpanProfiles { get; set; } = true;

    /// <summary>Profiles waiting for upload beyond this many windows are dropped, oldest first.</summary>
    public int MaxPendingUploads { get; set; } = 12;

    /// <summary>A window that could not be pushed for this long is given up.</summary>
    public TimeSpan MaxUploadAge { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Where profiles go; by default <see cref="PyroscopePushExporter"/> over an own HttpClient.</summary>
    public IProfileExporter? Exporter { get; set; }

    internal void Validate()
    {
        if (!IngestName.IsValidApplicationName(ApplicationName))
        {
            throw new ArgumentException($"ApplicationName '{ApplicationName}' is invalid: use letters, digits and _ . / - only.", nameof(ApplicationName));
        }
        foreach (var key in Tags.Keys)
        {
            if (!IngestName.IsValidTagKey(key))
            {
                throw new ArgumentException($"Tag key '{key}' is invalid: use letters, digits, _ and . only, not starting with __.", nameof(Tags));
            }
        }
        if (UploadInterval < TimeSpan.FromMilliseconds(100))
        {
            throw new ArgumentException("UploadInterval must be at least 100 ms.", nameof(UploadInterval));
        }
        if (SampledDurationPerInterval < TimeSpan.FromMilliseconds(100))
        {
            throw new ArgumentException("SampledDurationPerInterval must be at least 100 ms.", nameof(SampledDurationPerInterval));
        }
        if (MaxPendingUploads < 1)
        {
            throw new ArgumentException("MaxPendingUploads must be at least 1.", nameof(MaxPendingUploads));
        }
        if (Exporter is null && !Uri.TryCreate(ServerAddress, UriKind.Absolute, out _))
        {
            throw new ArgumentException($"ServerAddress '{ServerAddress}' is not an absolute URI.", nameof(ServerAddress));
        }
    }
}
