using Pyroscope.Api;
using Pyroscope.Contracts.Push.V1;
using Pyroscope.Contracts.Types.V1;
using Pyroscope.Formats;
using Pyroscope.Formats.Ingest;
using Pyroscope.Formats.Pprof;
using Pyroscope.Model;
using Pyroscope.Model.Ingest;
using Label = Pyroscope.Model.Label;

namespace Pyroscope.Distributor.Push;

/// <summary>push.v1.PusherService logic shared by the Connect endpoint and the gRPC service.</summary>
public sealed class PushHandler(Distributor distributor)
{
    public async Task<PushResponse> PushAsync(string tenantId, PushRequest request, long requestBytes, CancellationToken cancellationToken)
    {
        var limits = distributor.LimitsFor(tenantId);
        var profiles = new List<IngestedProfile>();
        try
        {
            await DecodeAndPushAsync(tenantId, request, requestBytes, limits, profiles, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            foreach (var profile in profiles)
            {
                profile.Dispose();
            }
        }
        return new PushResponse();
    }

    private async Task DecodeAndPushAsync(string tenantId, PushRequest request, long requestBytes, TenantLimits limits, List<IngestedProfile> profiles, CancellationToken cancellationToken)
    {
        var cap = limits.MaxProfilePayloadBytes;
        long decompressed = 0;
        for (var s = 0; s < request.Series.Count; s++)
        {
            var series = request.Series[s];
            var labels = new List<Label>(series.Labels.Count);
            foreach (var pair in series.Labels)
            {
                labels.Add(new Label(pair.Name, pair.Value));
            }
            for (var i = 0; i < series.Samples.Count; i++)
            {
                try
                {
                    var raw = series.Samples[i].RawProfile.Memory;
                    var profile = PprofReader.Read(raw, cap, $"series[{s}].samples[{i}].raw_profile", out var size);
                    profiles.Add(new IngestedProfile(labels, raw, profile, size, PprofFixups.None));
                    decompressed += size;
                }
                catch (ProfileTooLargeException e)
                {
                    distributor.CountDiscarded(DiscardReasons.ProfileSizeLimit, tenantId, 1, series.Samples[i].RawProfile.Length);
                    throw ApiException.InvalidArgument(e.Message, e);
                }
                catch (ProfileFormatException e)
                {
                    distributor.CountDiscarded(DiscardReasons.MalformedProfile, tenantId, 1, series.Samples[i].RawProfile.Length);
                    throw ApiException.InvalidArgument(e.Message, e);
                }
                distributor.RefuseIfOverBurst(tenantId, limits, decompressed, profiles.Count);
            }
        }
        await distributor.PushAsync(tenantId, profiles, requestBytes, 0, requireProfiles: true, cancellationToken).ConfigureAwait(false);
    }

    public static GetFeatureFlagsResponse FeatureFlags() => new();
}
