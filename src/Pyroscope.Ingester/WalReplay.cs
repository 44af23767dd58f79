using Pyroscope.Ingester.Client;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Model;
using Pyroscope.Model.Ingest;
using Pyroscope.Storage.Wal;

namespace Pyroscope.Ingester;

/// <summary>
/// Rebuilds the heads of the WAL segments not yet in durable blocks, in order. Replayed series count as active again
/// (they were admitted before the restart); an unreadable record is skipped with a warning, not fatal.
/// </summary>
internal static class WalReplay
{
    public static void Run(string walDirectory, IReadOnlyList<long> segments, HeadSet heads, SeriesAdmission series, TimeProvider time, ILogger logger)
    {
        long records = 0, profiles = 0;
        foreach (var segment in segments)
        {
            foreach (var record in WriteAheadLog.ReadSegment(walDirectory, segment, logger))
            {
                records++;
                try
                {
                    var decoded = WalRecordCodec.Decode(record);
                    var tenant = decoded.Tenant;
                    var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
                    if (decoded.Request is { } request)
                    {
                        var labels = SeriesAdmission.LabelsOf(request);
                        series.Track(tenant, labels, Math.Min(time.GetUtcNow().UtcTicks, NewestProfileTicks(request)));
                        heads.Append(tenant, head => profiles += IngesterEngine.AppendSeries(head, request, labels, nowMs));
                    }
                    else
                    {
                        using var push = ReceivedPushNormalizer.Normalize(decoded.Received!);
                        var stored = IngesterEngine.SeriesOf(push, decoded.Received!.Series);
                        var (labels, newestNanos) = LabelsOf(stored);
                        series.Track(tenant, labels, Math.Min(time.GetUtcNow().UtcTicks, TicksOf(newestNanos)));
                        heads.Append(tenant, head => profiles += IngesterEngine.AppendReplayed(head, stored, nowMs));
                    }
                }
                catch (Exception e) when (e is InvalidDataException or ArgumentException or Google.Protobuf.InvalidProtocolBufferException or ZstdSharp.ZstdException or OverflowException)
                {
                    logger.LogWarning(e, "Skipping an unreadable WAL record in segment {Segment}.", segment);
                }
            }
        }
        if (records > 0)
        {
            logger.LogInformation("Replayed {Records} WAL records ({Profiles} profiles) from {Segments} segments.", records, profiles, segments.Count);
        }
    }

    // Arrival times are not in the WAL; a profile's own time (never later than now) stands in for it, so series idle
    // for long before the restart do not count again for a full timeout.
    private static long NewestProfileTicks(PushRequest request)
    {
        long newestNanos = 0;
        foreach (var series in request.Series)
        {
            newestNanos = Math.Max(newestNanos, series.Profile?.TimeNanos ?? 0);
        }
        return TicksOf(newestNanos);
    }

    private static (LabelSet[] Labels, long NewestNanos) LabelsOf(List<(NormalizedProfile Profile, NormalizedSeries Series)> series)
    {
        var labels = new List<LabelSet>(series.Count);
        long newestNanos = 0;
        foreach (var (_, one) in series)
        {
            labels.Add(one.Labels);
            newestNanos = Math.Max(newestNanos, one.TimeNanos);
        }
        return ([.. labels], newestNanos);
    }

    private static long TicksOf(long nanos) => nanos > 0 ? DateTime.UnixEpoch.Ticks + nanos / 100 : long.MaxValue;
}
