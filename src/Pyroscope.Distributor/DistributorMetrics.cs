using System.Diagnostics.Metrics;

namespace Pyroscope.Distributor;

/// <summary>
/// Counters with upstream's names: refusals by reason and tenant (pkg/validation) and what was received.
/// The host exports meter <see cref="MeterName"/> on /metrics.
/// </summary>
public sealed class DistributorMetrics : IDisposable
{
    public const string MeterName = "Pyroscope.Distributor";

    private readonly Meter _meter;
    private readonly Counter<long> _discardedProfiles;
    private readonly Counter<long> _discardedBytes;
    private readonly Counter<long> _receivedBytes;
    private readonly Counter<long> _receivedDecompressedBytes;
    private readonly Counter<long> _receivedProfiles;

    public DistributorMetrics(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _discardedProfiles = _meter.CreateCounter<long>("pyroscope_discarded_samples_total", description: "The total number of samples (profiles) that were discarded.");
        _discardedBytes = _meter.CreateCounter<long>("pyroscope_discarded_bytes_total", "bytes", "The total number of bytes that were discarded.");
        _receivedBytes = _meter.CreateCounter<long>("pyroscope_distributor_received_compressed_bytes_total", "bytes", "Request bytes received, as sent.");
        _receivedDecompressedBytes = _meter.CreateCounter<long>("pyroscope_distributor_received_decompressed_bytes_total", "bytes", "Profile bytes received, decompressed.");
        _receivedProfiles = _meter.CreateCounter<long>("pyroscope_distributor_received_profiles_total", description: "Profiles received (before validation).");
    }

    public void Discarded(string reason, string tenant, long profiles, long bytes)
    {
        var tags = new KeyValuePair<string, object?>[] { new("reason", reason), new("tenant", tenant) };
        _discardedProfiles.Add(profiles, tags);
        _discardedBytes.Add(bytes, tags);
    }

    public void Received(string tenant, long compressedBytes, long decompressedBytes, long profiles)
    {
        var tag = new KeyValuePair<string, object?>("tenant", tenant);
        _receivedBytes.Add(compressedBytes, tag);
        _receivedDecompressedBytes.Add(decompressedBytes, tag);
        _receivedProfiles.Add(profiles, tag);
    }

    public void Dispose() => _meter.Dispose();
}
