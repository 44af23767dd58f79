using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using Pyroscope.Api;
using Pyroscope.Api.Limits;
using Pyroscope.Contracts.Settings.V1;
using Pyroscope.Recording;
using Pyroscope.Storage.ObjectStore;

namespace Pyroscope.Settings;

/// <summary>
/// A tenant's recording rules, in the object store beside its settings at
/// <c>&lt;tenant&gt;/settings/recording_rule.v1.json</c>, in upstream's format
/// (<c>{"generation":"N","elements":[RecordingRuleStore JSON…]}</c>), so either implementation reads the other's.
/// </summary>
/// <remarks>
/// Generations as upstream: a new rule starts at 1; replacing one needs the generation the client read, and
/// bumps it; another generation is a conflict (already_exists), so two editors never overwrite each other
/// unknowingly. Writes are read-modify-write under a per-tenant lock; reads always go to the store, so every
/// process carrying tenant-settings sees the others' changes.
/// </remarks>
public sealed class TenantRecordingRulesStore(IObjectStore store, ITenantLimitsProvider limits) : IRecordingRuleSource
{
    public const string ObjectName = "settings/recording_rule.v1.json";

    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);

    public event Action<string, IReadOnlyList<RecordingRule>>? Changed;

    public static string KeyFor(string tenantId) => tenantId + "/" + ObjectName;

    public async Task<IReadOnlyList<RecordingRule>> ListAsync(string tenantId, CancellationToken cancellationToken)
    {
        var stored = await LoadAsync(tenantId, cancellationToken).ConfigureAwait(false);
        return ToApi(stored.Rules);
    }

    public async Task<RecordingRule> GetAsync(string tenantId, string? id, CancellationToken cancellationToken)
    {
        id = RecordingRuleValidator.RequireId(id);
        var stored = await LoadAsync(tenantId, cancellationToken).ConfigureAwait(false);
        foreach (var rule in stored.Rules)
        {
            if (rule.Id == id)
            {
                return ToApi(rule);
            }
        }
        throw new ApiException(ConnectCode.NotFound, $"no rule with id='{id}' found");
    }

    public async Task<RecordingRule> UpsertAsync(string tenantId, UpsertRecordingRuleRequest request, CancellationToken cancellationToken)
    {
        request = request.Clone();
        RecordingRuleValidator.ValidateUpsert(request);
        var updated = new RecordingRuleStore
        {
            Id = request.Id,
            MetricName = request.MetricName,
            StacktraceFilter = request.StacktraceFilter,
        };
        updated.Matchers.Add(request.Matchers);
        updated.GroupBy.Add(request.GroupBy);
        updated.ExternalLabels.Add(request.ExternalLabels);

        var max = limits.For(tenantId).MaxRecordingRules;
        var all = await UpdateAsync(tenantId, rules =>
        {
            var index = IndexOf(rules.Rules, request.Id);
            if (index < 0)
            {
                if (max > 0 && rules.Rules.Count >= max)
                {
                    throw ApiException.ResourceExhausted($"recording rules limit ({max}) exceeded for this tenant (max_recording_rules)");
                }
                updated.Generation = 1;
                rules.Rules.Add(updated);
                return;
            }
            var storedGeneration = rules.Rules[index].Generation;
            if (request.Generation != storedGeneration)
            {
                throw new ApiException(ConnectCode.AlreadyExists,
                    $"conflicting update, please try again: rule {request.Id} is at generation {storedGeneration}, the update was based on generation {request.Generation}");
            }
            updated.Generation = storedGeneration + 1;
            rules.Rules[index] = updated;
        }, cancellationToken).ConfigureAwait(false);
        return ToApi(updated);
    }

    public Task DeleteAsync(string tenantId, string? id, CancellationToken cancellationToken)
    {
        id = RecordingRuleValidator.RequireId(id);
        return UpdateAsync(tenantId, rules =>
        {
            var index = IndexOf(rules.Rules, id);
            if (index < 0)
            {
                throw new ApiException(ConnectCode.NotFound, $"no rule with ID='{id}' found");
            }
            rules.Rules.RemoveAt(index);
        }, cancellationToken);
    }

    private async Task<IReadOnlyList<RecordingRule>> UpdateAsync(string tenantId, Action<RecordingRulesStore> change, CancellationToken cancellationToken)
    {
        var gate = _locks.GetOrAdd(tenantId, static _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        IReadOnlyList<RecordingRule> all;
        try
        {
            var rules = await LoadAsync(tenantId, cancellationToken).ConfigureAwait(false);
            change(rules);
            rules.Generation++;
            await store.PutAsync(KeyFor(tenantId), Serialize(rules), cancellationToken).ConfigureAwait(false);
            all = ToApi(rules.Rules);
        }
        finally
        {
            gate.Release();
        }
        Changed?.Invoke(tenantId, all);
        return all;
    }

    private async Task<RecordingRulesStore> LoadAsync(string tenantId, CancellationToken cancellationToken)
    {
        var bytes = await store.GetAsync(KeyFor(tenantId), cancellationToken).ConfigureAwait(false);
        if (bytes is null)
        {
            return new RecordingRulesStore();
        }
        try
        {
            return Deserialize(bytes);
        }
        catch (Exception e) when (e is JsonException or InvalidJsonException or InvalidProtocolBufferException or FormatException or InvalidOperationException)
        {
            throw new ApiException(ConnectCode.Internal, $"stored recording rules {KeyFor(tenantId)} are not valid: {e.Message}", inner: e);
        }
    }

    /// <summary>Upstream's collection: generation as a string, rules under "elements" (older objects: "rules").</summary>
    internal static byte[] Serialize(RecordingRulesStore rules)
    {
        var elements = new JsonArray();
        foreach (var rule in rules.Rules)
        {
            elements.Add(JsonNode.Parse(JsonFormatter.Default.Format(rule)));
        }
        var root = new JsonObject
        {
            ["generation"] = rules.Generation.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["elements"] = elements,
        };
        return Encoding.UTF8.GetBytes(root.ToJsonString());
    }

    internal static RecordingRulesStore Deserialize(byte[] bytes)
    {
        var root = JsonNode.Parse(bytes)?.AsObject() ?? throw new FormatException("not a JSON object");
        var result = new RecordingRulesStore();
        if (root["generation"] is { } generation)
        {
            var text = generation.GetValueKind() == JsonValueKind.String ? generation.GetValue<string>() : generation.ToJsonString();
            result.Generation = long.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
        }
        var elements = root["elements"] as JsonArray is { Count: > 0 } e ? e : root["rules"] as JsonArray;
        foreach (var element in elements ?? [])
        {
            if (element is not null)
            {
                result.Rules.Add(Parser.Parse<RecordingRuleStore>(element.ToJsonString()));
            }
        }
        return result;
    }

    private static int IndexOf(IList<RecordingRuleStore> rules, string id)
    {
        for (var i = 0; i < rules.Count; i++)
        {
            if (rules[i].Id == id)
            {
                return i;
            }
        }
        return -1;
    }

    private static List<RecordingRule> ToApi(IEnumerable<RecordingRuleStore> rules)
    {
        var result = new List<RecordingRule>();
        foreach (var rule in rules)
        {
            result.Add(ToApi(rule));
        }
        return result;
    }

    private static RecordingRule ToApi(RecordingRuleStore rule)
    {
        var api = new RecordingRule
        {
            Id = rule.Id,
            MetricName = rule.MetricName,
            ProfileType = RecordingRuleValidator.ProfileTypeOf(rule.Matchers),
            Generation = rule.Generation,
            StacktraceFilter = rule.StacktraceFilter,
        };
        api.Matchers.Add(rule.Matchers);
        api.GroupBy.Add(rule.GroupBy);
        api.ExternalLabels.Add(rule.ExternalLabels);
        return api;
    }
}
