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

/// <summary>.NET runtime totals of a server: bytes allocated on the managed heap and time paused in GC.</summary>
public readonly record struct RuntimeCounters(double AllocatedBytes, double GcPauseSeconds)
{
    public static RuntimeCounters operator +(RuntimeCounters a, RuntimeCounters b) =>
        new(a.AllocatedBytes + b.AllocatedBytes, a.GcPauseSeconds + b.GcPauseSeconds);

    public static RuntimeCounters operator -(RuntimeCounters a, RuntimeCounters b) =>
        new(a.AllocatedBytes - b.AllocatedBytes, a.GcPauseSeconds - b.GcPauseSeconds);

    /// <summary>The runtime meter's two totals as the OpenTelemetry Prometheus exporter prints them.</summary>
    public const string AllocatedMetric = "dotnet_gc_heap_total_allocated_bytes_total";
    public const string PauseMetric = "dotnet_gc_pause_time_seconds_total";

    public static async Task<RuntimeCounters> ScrapeAsync(HttpClient http, CancellationToken cancellationToken)
    {
        var text = await http.GetStringAsync("/metrics", cancellationToken);
        double allocated = 0, pause = 0;
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
        }
        return new RuntimeCounters(allocated, pause);
    }

    private static double LastNumber(string line)
    {
        // `name{labels} value [timestamp]`: the value follows the closing brace (or the name).
        var afterLabels = line.LastIndexOf('}');
        var rest = line[(afterLabels >= 0 ? afterLabels + 1 : line.IndexOf(' '))..].Trim().Split(' ');
        return double.Parse(rest[0], CultureInfo.InvariantCulture);
    }
}
