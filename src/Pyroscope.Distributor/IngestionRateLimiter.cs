using System.Collections.Concurrent;

namespace Pyroscope.Distributor;

/// <summary>
/// Per-tenant token bucket in bytes (ingestion_rate_mb per second, ingestion_burst_size_mb deep), like the
/// local strategy of upstream's rate limiter: a request larger than the burst never passes.
/// </summary>
public sealed class IngestionRateLimiter(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);

    /// <summary>Takes <paramref name="bytes"/> tokens if available; false when the tenant is over its rate.</summary>
    public bool TryAcquire(string tenant, long bytes, long ratePerSecond, long burst)
    {
        if (ratePerSecond <= 0)
        {
            return true; // 0 disables the limit
        }
        var bucket = _buckets.GetOrAdd(tenant, static _ => new Bucket());
        var now = time.GetTimestamp();
        lock (bucket)
        {
            if (!bucket.Initialised)
            {
                bucket.Tokens = burst;
                bucket.LastTimestamp = now;
                bucket.Initialised = true;
            }
            var elapsed = time.GetElapsedTime(bucket.LastTimestamp, now).TotalSeconds;
            bucket.LastTimestamp = now;
            bucket.Tokens = Math.Min(burst, bucket.Tokens + elapsed * ratePerSecond);
            if (bytes > bucket.Tokens)
            {
                return false;
            }
            bucket.Tokens -= bytes;
            return true;
        }
    }

    private sealed class Bucket
    {
        public bool Initialised;
        public double Tokens;
        public long LastTimestamp;
    }
}
