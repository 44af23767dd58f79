using Google.Protobuf.Collections;
using Microsoft.Extensions.Logging;
using Pyroscope.Contracts.Ingester.V1;

namespace Pyroscope.Recording;

/// <summary>
/// The write path's hook: called with every push the ingesters accepted. For a tenant without rules it costs a
/// dictionary lookup; the first push of a tenant this process has not read rules for is evaluated once they are
/// read, off the request, so no client waits for the rules.
/// </summary>
public sealed class RecordingRulesRecorder(RecordingRulesCache cache, ILogger<RecordingRulesRecorder> logger)
{
    public void Record(string tenantId, RepeatedField<ProfileSeries> accepted)
    {
        if (cache.TryGet(tenantId, out var rules))
        {
            if (!rules.IsEmpty)
            {
                Evaluate(tenantId, rules, accepted);
            }
            return;
        }
        _ = RecordWhenReadAsync(tenantId, accepted);
    }

    private async Task RecordWhenReadAsync(string tenantId, RepeatedField<ProfileSeries> accepted)
    {
        var rules = await cache.GetAsync(tenantId).ConfigureAwait(false);
        if (!rules.IsEmpty)
        {
            Evaluate(tenantId, rules, accepted);
        }
    }

    private void Evaluate(string tenantId, TenantRuleSet rules, RepeatedField<ProfileSeries> accepted)
    {
        try
        {
            rules.Record(accepted);
        }
        catch (Exception e)
        {
            // A rule must never cost a client its push: the profiles are stored already.
            logger.LogError(e, "Evaluating the recording rules of tenant {Tenant} failed", tenantId);
        }
    }
}
