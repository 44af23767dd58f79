using Microsoft.Extensions.Logging;
using Pyroscope.Api;
using Pyroscope.Api.Limits;
using Pyroscope.Formats;
using Pyroscope.Formats.Ingest;
using Pyroscope.Formats.Normalization;
using Pyroscope.Model;
using Pyroscope.Model.Ingest;
using Pyroscope.Recording;

namespace Pyroscope.Distributor;

/// <summary>
/// The write path after decoding: rate limit → validate and normalise (one series per sample type) →
/// forward to the ingesters → recording rules. Completes only once <see cref="IIngesterClient.PushAsync"/> has, so a
/// client is acknowledged only for data that was stored. Every refusal is an <see cref="ApiException"/>
/// naming the limit or problem, and is counted by reason and tenant.
/// </summary>
public sealed class Distributor(
    IIngesterClient ingester,
    ITenantLimitsProvider limitsProvider,
    IngestionRateLimiter rateLimiter,
    DistributorMetrics metrics,
    RecordingRulesRecorder recordingRules,
    TimeProvider time,
    ILogger<Distributor> logger)
{
    public TenantLimits LimitsFor(string tenantId) => limitsProvider.For(tenantId);

    /// <summary>Nanoseconds since the Unix epoch, from the injected clock.</summary>
    public long NowNanos => (time.GetUtcNow().UtcTicks - DateTime.UnixEpoch.Ticks) * 100;

    /// <param name="fallbackTimeNanos">Timestamp for profiles without one (the request's <c>from</c>), 0 for now.</param>
    /// <param name="requireProfiles">Connect push answers "no profiles received" when empty; /ingest accepts an empty push.</param>
    /// <remarks>The received bytes of <paramref name="profiles"/> must stay valid until this completes (the ingester logs them).</remarks>
    public async Task PushAsync(string tenantId, IReadOnlyList<IngestedProfile> profiles, long receivedBytes, long fallbackTimeNanos, bool requireProfiles, CancellationToken cancellationToken)
    {
        var limits = limitsProvider.For(tenantId);
        long totalBytes = 0;
        foreach (var profile in profiles)
        {
            totalBytes += profile.Size;
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
            throw RateLimited(limits, totalBytes);
        }

        var now = NowNanos;
        var context = new PushContext(now, fallbackTimeNanos, Math.Max(0, limits.MaxProfileStacktraceDepth), Math.Max(0, limits.MaxProfileSymbolValueLength), ProfileNormalizer.NewIdSeed());
        var pushed = new List<PushedProfile>(profiles.Count);
        using var push = new IngestPush(context, pushed);
        var (maxSeries, maxSeriesSource) = MaxSeriesPerPush(limits);
        var series = 0;
        foreach (var profile in profiles)
        {
            var parsed = profile.TakeParsed();
            NormalizedProfile normalized;
            try
            {
                normalized = ProfileNormalizer.Normalize(parsed, profile.Labels, limits,
                    new NormalizeContext(now, fallbackTimeNanos, profile.DecompressedSize)
                    {
                        MaxSeries = maxSeries - series,
                        SeriesSoFar = series,
                        MaxSeriesSource = maxSeriesSource,
                        IdSeed = context.IdSeed,
                    });
            }
            catch (ProfileValidationException e)
            {
                parsed.Dispose();
                metrics.Discarded(e.Reason, tenantId, profiles.Count, totalBytes);
                throw e.Reason == DiscardReasons.SeriesLimit ? ApiException.ResourceExhausted(e.Message, e) : ApiException.InvalidArgument(e.Message, e);
            }
            // Converted formats have no received pprof: the bytes their message was encoded to stand in for it.
            pushed.Add(new PushedProfile(profile.Labels, profile.Received.IsEmpty ? parsed.Bytes : profile.Received, profile.Fixups, normalized));
            series += normalized.Series.Count;
        }
        if (series == 0)
        {
            // Every sample was zero: nothing to store, and nothing wrong with the request.
            return;
        }
        var recorded = await recordingRules.EvaluateAsync(tenantId, () => AsMessages(pushed)).ConfigureAwait(false);
        try
        {
            await ingester.PushAsync(tenantId, push, cancellationToken).ConfigureAwait(false);
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
        catch (PushTooLargeForIngesterException e)
        {
            metrics.Discarded(DiscardReasons.ProfileSizeLimit, tenantId, profiles.Count, totalBytes);
            throw new ApiException(ConnectCode.ResourceExhausted, e.Message, 413, e);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogError(e, "Push of {Count} series for tenant {Tenant} to the ingesters failed", series, tenantId);
            throw new ApiException(ConnectCode.Unavailable, "failed to store the profile: " + e.Message, null, e);
        }
        // Only what was stored counts, each profile once (here, before replication), whatever the replication factor.
        recorded.Commit();
    }

    private static Google.Protobuf.Collections.RepeatedField<Contracts.Ingester.V1.ProfileSeries> AsMessages(List<PushedProfile> pushed)
    {
        var series = new Google.Protobuf.Collections.RepeatedField<Contracts.Ingester.V1.ProfileSeries>();
        foreach (var profile in pushed)
        {
            if (profile.Normalized is { } normalized)
            {
                series.AddRange(ProfileMaterializer.ToSeries(normalized));
            }
        }
        return series;
    }

    public void CountDiscarded(string reason, string tenantId, long profiles, long bytes) =>
        metrics.Discarded(reason, tenantId, profiles, bytes);

    /// <summary>
    /// Refuses a push while its profiles are still being decoded, as soon as their decompressed bytes pass the
    /// rate limiter's burst: such a push can never be admitted, so decoding the rest would be wasted memory.
    /// </summary>
    public void RefuseIfOverBurst(string tenantId, TenantLimits limits, long decompressedBytes, long profiles)
    {
        if (limits.IngestionRateBytesPerSecond > 0 && decompressedBytes > limits.IngestionBurstSizeBytes)
        {
            metrics.Discarded(DiscardReasons.RateLimited, tenantId, profiles, decompressedBytes);
            throw RateLimited(limits, decompressedBytes);
        }
    }

    private static ApiException RateLimited(TenantLimits limits, long bytes) => ApiException.ResourceExhausted(
        $"push rate limit ({Bytes(limits.IngestionRateBytesPerSecond)}/s, burst {Bytes(limits.IngestionBurstSizeBytes)}; ingestion_rate_mb / ingestion_burst_size_mb) exceeded while adding {Bytes(bytes)}");

    /// <summary>
    /// A push can never create more series than the tenant may hold in total (the ingesters would refuse it
    /// whole): checked per profile before normalisation copies anything.
    /// </summary>
    private static (int? Max, string Source) MaxSeriesPerPush(TenantLimits limits) =>
        limits.MaxGlobalSeriesPerTenant > 0
            ? (limits.MaxGlobalSeriesPerTenant, $"max_global_series_per_tenant={limits.MaxGlobalSeriesPerTenant}")
            : (null, "");

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
