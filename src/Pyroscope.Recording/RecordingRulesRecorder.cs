using Google.Protobuf.Collections;
using Microsoft.Extensions.Logging;
using Pyroscope.Contracts.Ingester.V1;

namespace Pyroscope.Recording;

/// <summary>
/// The write path's hook, in two steps around the push to the ingesters: <see cref="EvaluateAsync"/> before (it
/// reads the profiles while the distributor still owns them) and <see cref="RecordedAdditions.Commit"/> once they
/// are stored. For a tenant without rules it costs a dictionary lookup. The first push of a tenant this process has
/// not read rules for waits for that one read, at most <see cref="FirstReadWait"/>. The pushed series are asked for
/// only when the tenant has rules: the write path keeps profiles in columns, and writes them out as messages just for this.
/// </summary>
public sealed class RecordingRulesRecorder(RecordingRulesCache cache, ILogger<RecordingRulesRecorder> logger)
{
    public static readonly TimeSpan FirstReadWait = TimeSpan.FromSeconds(2);

    public ValueTask<RecordedAdditions> EvaluateAsync(string tenantId, Func<RepeatedField<ProfileSeries>> pushed)
    {
        if (cache.TryGet(tenantId, out var rules))
        {
            return ValueTask.FromResult(rules.IsEmpty ? default : Evaluate(tenantId, rules, pushed));
        }
        return new ValueTask<RecordedAdditions>(EvaluateWhenReadAsync(tenantId, pushed));
    }

    private async Task<RecordedAdditions> EvaluateWhenReadAsync(string tenantId, Func<RepeatedField<ProfileSeries>> pushed)
    {
        var read = cache.GetAsync(tenantId);
        if (await Task.WhenAny(read, Task.Delay(FirstReadWait)).ConfigureAwait(false) != read)
        {
            logger.LogWarning("The recording rules of tenant {Tenant} were not read within {Wait}: a push is not recorded", tenantId, FirstReadWait);
            return default;
        }
        var rules = await read.ConfigureAwait(false);
        return rules.IsEmpty ? default : Evaluate(tenantId, rules, pushed);
    }

    private RecordedAdditions Evaluate(string tenantId, TenantRuleSet rules, Func<RepeatedField<ProfileSeries>> pushed)
    {
        try
        {
            var additions = new List<(RecordedSeries, long)>();
            rules.Evaluate(pushed(), additions);
            return new RecordedAdditions(additions);
        }
        catch (Exception e)
        {
            // A rule must never cost a client its push.
            logger.LogError(e, "Evaluating the recording rules of tenant {Tenant} failed", tenantId);
            return default;
        }
    }
}

/// <summary>What one push adds to the recorded series, applied only once the push is stored.</summary>
public readonly struct RecordedAdditions(List<(RecordedSeries Series, long Value)>? additions)
{
    public int Count => additions?.Count ?? 0;

    public void Commit()
    {
        if (additions is null)
        {
            return;
        }
        foreach (var (series, value) in additions)
        {
            series.Add(value);
        }
    }
}
