using Pyroscope.Ingester.Client;
using Pyroscope.Formats;
using Pyroscope.Formats.Normalization;
using Pyroscope.Formats.Pprof;
using Pyroscope.Model;
using Pyroscope.Model.Ingest;

namespace Pyroscope.Ingester;

/// <summary>
/// Normalises a logged push again, as the distributor did: the same reader, agent fix-ups, truncation limits, clock and
/// id seed give the same series, samples and ids. Limits that could only refuse are off (the push was accepted, and
/// limits may have changed since).
/// </summary>
internal static class ReceivedPushNormalizer
{
    public static IngestPush Normalize(ReceivedPush received)
    {
        var context = received.Context;
        var limits = ReplayLimits(context);
        var profiles = new List<PushedProfile>(received.Profiles.Count);
        var push = new IngestPush(context, profiles);
        try
        {
            var series = 0;
            foreach (var profile in received.Profiles)
            {
                var parsed = PprofReader.Read(profile.Payload, long.MaxValue, "WAL record", out var size);
                NormalizedProfile normalized;
                try
                {
                    SpyFixes.Apply(parsed, profile.Fixups);
                    normalized = ProfileNormalizer.Normalize(parsed, profile.Labels, limits,
                        new NormalizeContext(context.NowNanos, context.FallbackTimeNanos, size) { SeriesSoFar = series, IdSeed = context.IdSeed });
                }
                catch
                {
                    parsed.Dispose();
                    throw;
                }
                profiles.Add(new PushedProfile(profile.Labels, profile.Payload, profile.Fixups, normalized));
                series += normalized.Series.Count;
            }
            return push;
        }
        catch (Exception e) when (e is ProfileFormatException or ProfileValidationException)
        {
            push.Dispose();
            throw new InvalidDataException("WAL record holds a profile that does not normalise again: " + e.Message, e);
        }
        catch
        {
            push.Dispose();
            throw;
        }
    }

    private static TenantLimits ReplayLimits(PushContext context) => TenantLimits.Unlimited with
    {
        MaxProfileStacktraceDepth = context.MaxStackDepth,
        MaxProfileSymbolValueLength = context.MaxSymbolLength,
    };
}
