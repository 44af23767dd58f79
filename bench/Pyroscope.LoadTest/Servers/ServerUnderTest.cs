using System.Globalization;

namespace Pyroscope.LoadTest.Servers;

/// <summary>A server the load goes to: the null server, the monolith, or distributor + ingester.</summary>
public interface IServerUnderTest : IAsyncDisposable
{
    string Name { get; }

    /// <summary>Where the load generator sends (for microservices: the distributor).</summary>
    Uri Address { get; }

    /// <summary>Every process of the server, for CPU and RSS.</summary>
    IReadOnlyList<int> ProcessIds { get; }

    /// <summary>Output of the server's processes, for error messages.</summary>
    string Output { get; }

    /// <summary>Allocated bytes and GC pause time of all its processes so far (from their /metrics).</summary>
    Task<RuntimeCounters> ReadCountersAsync(CancellationToken cancellationToken);
}

/// <summary>
/// .NET runtime figures of a server: totals of bytes allocated on the managed heap and time paused in GC, and the
/// managed heap after the last GC (all generations: live data plus fragmentation) with the memory the GC committed.
/// </summary>
public readonly record struct RuntimeCounters(double AllocatedBytes, double GcPauseSeconds, double HeapBytes = 0, double CommittedBytes = 0)
{
    /// <summary>Sums processes.</summary>
    public static RuntimeCounters operator +(RuntimeCounters a, RuntimeCounters b) =>
        new(a.AllocatedBytes + b.AllocatedBytes, a.GcPauseSeconds + b.GcPauseSeconds, a.HeapBytes + b.HeapBytes, a.CommittedBytes + b.CommittedBytes);

    /// <summary>The totals' growth since <paramref name="b"/>; heap and committed as of <paramref name="a"/>.</summary>
    public static RuntimeCounters operator -(RuntimeCounters a, RuntimeCounters b) =>
        new(a.AllocatedBytes - b.AllocatedBytes, a.GcPauseSeconds - b.GcPauseSeconds, a.HeapBytes, a.CommittedBytes);

    /// <summary>The runtime meter's figures as the OpenTelemetry Prometheus exporter prints them.</summary>
    public const string AllocatedMetric = "dotnet_gc_heap_total_allocated_bytes_total";
    public const string PauseMetric = "dotnet_gc_pause_time_seconds_total";
    public const string HeapMetric = "dotnet_gc_last_collection_heap_size_bytes";
    public const string CommittedMetric = "dotnet_gc_last_collection_memory_committed_size_bytes";

    public static async Task<RuntimeCounters> ScrapeAsync(HttpClient http, CancellationToken cancellationToken)
    {
        var text = await http.GetStringAsync("/metrics", cancellationToken);
        double allocated = 0, pause = 0, heap = 0, committed = 0;
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(AllocatedMetric, StringComparison.Ordinal))
            {
                allocated = LastNumber(line);
            }
            else if (line.StartsWith(PauseMetric, StringComparison.Ordinal))
            {
                pause = LastNumber(line);
            }
            else if (line.StartsWith(HeapMetric + "{", StringComparison.Ordinal))
            {
                heap += LastNumber(line); // one line per generation
            }
            else if (line.StartsWith(CommittedMetric, StringComparison.Ordinal))
            {
                committed = LastNumber(line);
            }
        }
        return new RuntimeCounters(allocated, pause, heap, committed);
    }

    private static double LastNumber(string line)
    {
        // `name{labels} value [timestamp]`: the value follows the closing brace (or the name).
        var afterLabels = line.LastIndexOf('}');
        var rest = line[(afterLabels >= 0 ? afterLabels + 1 : line.IndexOf(' '))..].Trim().Split(' ');
        return double.Parse(rest[0], CultureInfo.InvariantCulture);
    }
}
