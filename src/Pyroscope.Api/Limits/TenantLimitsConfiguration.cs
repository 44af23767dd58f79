using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Primitives;
using Pyroscope.Model;

namespace Pyroscope.Api.Limits;

/// <summary>The limits that apply to one tenant: its overrides on top of the defaults.</summary>
public interface ITenantLimitsProvider
{
    TenantLimits For(string tenantId);
}

/// <summary>
/// Limits read from <see cref="IConfiguration"/>: defaults from section <c>limits</c>, per-tenant overrides
/// from <c>overrides:&lt;tenant&gt;</c> (upstream keeps those in the runtime config's <c>overrides:</c>),
/// keys in upstream's snake_case YAML spelling. Re-read when the configuration reloads.
/// </summary>
public sealed class ConfigurationTenantLimitsProvider : ITenantLimitsProvider
{
    public const string LimitsSection = "limits";
    public const string OverridesSection = "overrides";

    private readonly IConfiguration _configuration;
    private volatile Cache _cache;

    public ConfigurationTenantLimitsProvider(IConfiguration configuration)
    {
        _configuration = configuration;
        _cache = new Cache(TenantLimitsBinder.Bind(configuration.GetSection(LimitsSection), TenantLimits.Defaults, LimitsSection));
        ChangeToken.OnChange(configuration.GetReloadToken, () =>
        {
            try
            {
                _cache = new Cache(TenantLimitsBinder.Bind(configuration.GetSection(LimitsSection), TenantLimits.Defaults, LimitsSection));
            }
            catch (FormatException)
            {
                // Keep serving the last good limits; the bad value is reported when the section is bound at startup.
            }
        });
    }

    public TenantLimits Defaults => _cache.Defaults;

    public TenantLimits For(string tenantId)
    {
        var cache = _cache;
        return cache.PerTenant.GetOrAdd(tenantId, static (tenant, state) =>
        {
            var section = state.configuration.GetSection(OverridesSection).GetSection(tenant);
            return section.Exists()
                ? TenantLimitsBinder.Bind(section, state.defaults, $"{OverridesSection}.{tenant}")
                : state.defaults;
        }, (configuration: _configuration, defaults: cache.Defaults));
    }

    private sealed class Cache(TenantLimits defaults)
    {
        public TenantLimits Defaults { get; } = defaults;

        public ConcurrentDictionary<string, TenantLimits> PerTenant { get; } = new(StringComparer.Ordinal);
    }
}

/// <summary>A fixed set of limits, for tests and single-purpose hosts.</summary>
public sealed class StaticTenantLimitsProvider(TenantLimits defaults, IReadOnlyDictionary<string, TenantLimits>? perTenant = null) : ITenantLimitsProvider
{
    public TenantLimits For(string tenantId) =>
        perTenant is not null && perTenant.TryGetValue(tenantId, out var limits) ? limits : defaults;
}

public static class TenantLimitsBinder
{
    /// <summary>Applies the keys present in <paramref name="section"/> on top of <paramref name="baseline"/>.</summary>
    public static TenantLimits Bind(IConfigurationSection section, TenantLimits baseline, string where)
    {
        if (!section.Exists())
        {
            return baseline;
        }
        var l = baseline;
        foreach (var child in section.GetChildren())
        {
            var v = child.Value;
            if (v is null)
            {
                continue;
            }
            var key = child.Key;
            var what = where + "." + key;
            l = key switch
            {
                "ingestion_rate_mb" => l with { IngestionRateMb = Double(v, what) },
                "ingestion_burst_size_mb" => l with { IngestionBurstSizeMb = Double(v, what) },
                "ingestion_body_limit_mb" => l with { IngestionBodyLimitMb = Double(v, what) },
                "max_label_names_per_series" => l with { MaxLabelNamesPerSeries = Int(v, what) },
                "max_label_name_length" => l with { MaxLabelNameLength = Int(v, what) },
                "max_label_value_length" => l with { MaxLabelValueLength = Int(v, what) },
                "max_profile_size_bytes" => l with { MaxProfileSizeBytes = Int(v, what) },
                "max_profile_stacktrace_samples" => l with { MaxProfileStacktraceSamples = Int(v, what) },
                "max_profile_stacktrace_sample_labels" => l with { MaxProfileStacktraceSampleLabels = Int(v, what) },
                "max_profile_stacktrace_depth" => l with { MaxProfileStacktraceDepth = Int(v, what) },
                "max_profile_symbol_value_length" => l with { MaxProfileSymbolValueLength = Int(v, what) },
                "max_global_series_per_tenant" => l with { MaxGlobalSeriesPerTenant = Int(v, what) },
                "max_local_series_per_tenant" => l with { MaxLocalSeriesPerTenant = Int(v, what) },
                "reject_older_than" => l with { RejectOlderThan = DurationText.Parse(v, what) },
                "reject_newer_than" => l with { RejectNewerThan = DurationText.Parse(v, what) },
                "max_query_lookback" => l with { MaxQueryLookback = DurationText.Parse(v, what) },
                "max_query_length" => l with { MaxQueryLength = DurationText.Parse(v, what) },
                "compactor_blocks_retention_period" => l with { CompactorBlocksRetentionPeriod = DurationText.Parse(v, what) },
                "max_recording_rules" => l with { MaxRecordingRules = Int(v, what) },
                // Upstream has many more limits (query frontend, ring, recording rules); unknown keys are
                // ignored so an upstream config file still loads.
                _ => l,
            };
        }
        return l;
    }

    private static double Double(string text, string what) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= 0
            ? v
            : throw new FormatException($"invalid value \"{text}\" for {what} (expected a non-negative number)");

    private static int Int(string text, string what) =>
        int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= 0
            ? v
            : throw new FormatException($"invalid value \"{text}\" for {what} (expected a non-negative integer)");
}
