using Microsoft.Extensions.Logging;
using Pyroscope.Api;
using Pyroscope.Api.Limits;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Formats;
using Pyroscope.Formats.Ingest;
using Pyroscope.Formats.Normalization;
using Pyroscope.Model;

namespace Pyroscope.Distributor;

/// <summary>
/// The write path after decoding: rate limit → validate and normalise (one series per sample type) →
/// forward to the ingesters. Completes only once <see cref="IIngesterClient.PushAsync"/> has, so a
/// client is acknowledged only for data that was stored. Every refusal is an <see cref="ApiException"/>
/// naming the limit or problem, and is counted by reason and tenant.
/// </summary>
public sealed class Distributor(
    IIngesterClient ingester,
    ITenantLimitsProvider limitsProvider,
    IngestionRateLimiter rateLimiter,
    DistributorMetrics metrics,
    TimeProvider time,
    ILogger<Distributor> logger)
{
    public TenantLimits LimitsFor(string tenantId) => limitsProvider.For(tenantId);

    /// <summary>Nanoseconds since the Unix epoch, from the injected clock.</summary>
    public long NowNanos => (time.GetUtcNow().UtcTicks - DateTime.UnixEpoch.Ticks) * 100;

    /// <param name="fallbackTimeNanos">Timestamp for profiles without one (the request's <c>from</c>), 0 for now.</param>
    /// <param name="requireProfiles">Connect push answers "no profiles received" when empty; /ingest accepts an empty push.</param>
    public async Task PushAsync(string tenantId, IReadOnlyList<IngestedProfile> profiles, long receivedBytes, long fallbackTimeNanos, bool requireProfiles, CancellationToken cancellationToken)
    {
        var limits = limitsProvider.For(tenantId);
        long totalBytes = 0;
        foreach (var profile in profiles)
        {
            totalBytes += profile.DecompressedSize > 0 ? profile.DecompressedSize : profile.Profile.CalculateSize();
            foreach (var label in profile.Labels)
            {
                totalBytes += label.Name.Length + label.Value.Length;
            }
        }
        metrics.Received(tenantId, receivedBytes, totalBytes, profiles.Count);
        if (profiles.Count == 0)
        {
            if (requireProfiles)
            {
                throw ApiException.InvalidArgument("no profiles received");
            }
            return;
        }

        if (!rateLimiter.TryAcquire(tenantId, totalBytes, limits.IngestionRateBytesPerSecond, limits.IngestionBurstSizeBytes))
        {
            metrics.Discarded(DiscardReasons.RateLimited, tenantId, profiles.Count, totalBytes);
            throw ApiException.ResourceExhausted(
                $"push rate limit ({Bytes(limits.IngestionRateBytesPerSecond)}/s, burst {Bytes(limits.IngestionBurstSizeBytes)}; ingestion_rate_mb / ingestion_burst_size_mb) exceeded while adding {Bytes(totalBytes)}");
        }

        var normalization = ToNormalizationLimits(limits);
        var now = NowNanos;
        var request = new PushRequest();
        foreach (var profile in profiles)
        {
            try
            {
                var series = ProfileNormalizer.Normalize(profile.Profile, profile.Labels, normalization,
                    new NormalizeContext(now, fallbackTimeNanos, profile.DecompressedSize));
                request.Series.AddRange(series);
            }
            catch (ProfileValidationException e)
            {
                metrics.Discarded(e.Reason, tenantId, profiles.Count, totalBytes);
                throw ApiException.InvalidArgument(e.Message, e);
            }
        }
        if (request.Series.Count == 0)
        {
            // Every sample was zero: nothing to store, and nothing wrong with the request.
            return;
        }
        try
        {
            await ingester.PushAsync(tenantId, request, cancellationToken).ConfigureAwait(false);
        }
        catch (ApiException)
        {
            throw;
        }
        catch (SeriesLimitExceededException e)
        {
            metrics.Discarded(DiscardReasons.SeriesLimit, tenantId, profiles.Count, totalBytes);
            throw ApiException.ResourceExhausted(e.Message, e);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogError(e, "Push of {Count} series for tenant {Tenant} to the ingesters failed", request.Series.Count, tenantId);
            throw new ApiException(ConnectCode.Unavailable, "failed to store the profile: the ingesters are unavailable (" + e.Message + ")", null, e);
        }
    }

    public void CountDiscarded(string reason, string tenantId, long profiles, long bytes) =>
        metrics.Discarded(reason, tenantId, profiles, bytes);

    public static NormalizationLimits ToNormalizationLimits(TenantLimits limits) => new()
    {
        MaxLabelNamesPerSeries = limits.MaxLabelNamesPerSeries,
        MaxLabelNameLength = limits.MaxLabelNameLength,
        MaxLabelValueLength = limits.MaxLabelValueLength,
        MaxProfileSizeBytes = limits.MaxProfileSizeBytes,
        MaxProfileStacktraceSamples = limits.MaxProfileStacktraceSamples,
        MaxProfileStacktraceSampleLabels = limits.MaxProfileStacktraceSampleLabels,
        MaxProfileStacktraceDepth = limits.MaxProfileStacktraceDepth,
        MaxProfileSymbolValueLength = limits.MaxProfileSymbolValueLength,
        RejectOlderThan = limits.RejectOlderThan,
        RejectNewerThan = limits.RejectNewerThan,
    };

    /// <summary>Cap for decompressing one profile: the profile size limit when set, else the body limit.</summary>
    public static long DecompressionCap(TenantLimits limits) =>
        limits.MaxProfileSizeBytes > 0 ? limits.MaxProfileSizeBytes : Math.Min(limits.IngestionBodyLimitBytes, int.MaxValue);

    /// <summary>IEC sizes as upstream's humanize.IBytes prints them.</summary>
    public static string Bytes(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0 ? $"{bytes} B" : $"{value.ToString(value < 10 ? "0.0" : "0", System.Globalization.CultureInfo.InvariantCulture)} {units[unit]}";
    }
}
