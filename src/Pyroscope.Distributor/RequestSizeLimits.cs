using Pyroscope.Api.Connect;
using Pyroscope.Model;

namespace Pyroscope.Distributor;

/// <summary>
/// How much of a push request is read at all: never more than the size at which it is certain to be refused
/// anyway, so a large or inflating body costs at most that, raw and after Content-Encoding.
/// </summary>
public static class RequestSizeLimits
{
    /// <summary>
    /// <c>/ingest</c>: one profile (max_profile_size_bytes after gunzip; gzip never grows data by more than
    /// a few bytes per block) plus at most one side-car of the same cap (sample_type_config, JFR labels) and
    /// form framing; never above ingestion_body_limit_mb.
    /// </summary>
    public static RequestLimit Ingest(TenantLimits limits)
    {
        var form = 2 * limits.MaxProfilePayloadBytes + 64 * 1024;
        return form < limits.IngestionBodyLimitBytes
            ? new RequestLimit(form, "twice max_profile_size_bytes plus form framing: one profile and one side-car")
            : new RequestLimit(limits.IngestionBodyLimitBytes, "ingestion_body_limit_mb");
    }

    /// <summary>
    /// Connect push: with rate limiting on, a push whose profiles add up to more than the burst is never
    /// admitted (the token bucket holds at most the burst), and its body is about that size (raw profiles are
    /// gzip at worst a little larger than their content), so reading past burst + margin only wastes memory.
    /// </summary>
    public static RequestLimit Push(TenantLimits limits)
    {
        if (limits.IngestionRateBytesPerSecond > 0)
        {
            var burst = limits.IngestionBurstSizeBytes + limits.IngestionBurstSizeBytes / 64 + 1024 * 1024;
            if (burst < limits.IngestionBodyLimitBytes)
            {
                return new RequestLimit(burst, "ingestion_burst_size_mb: a push larger than the burst is never accepted");
            }
        }
        return new RequestLimit(limits.IngestionBodyLimitBytes, "ingestion_body_limit_mb");
    }
}
