using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Pyroscope.Contracts.Settings.V1;

namespace Pyroscope.Recording;

/// <summary>
/// Each tenant's compiled rules in this process. The write path asks <see cref="TryGet"/>: one dictionary lookup
/// and a clock comparison, and an expired entry is refreshed in the background while the old rules keep serving.
/// A tenant not seen yet is loaded once (<see cref="GetAsync"/>); rules changed through this process's own
/// tenant-settings store apply at once, rules changed elsewhere within one refresh interval.
/// </summary>
public sealed class RecordingRulesCache
{
    private readonly ConcurrentDictionary<string, Entry> _tenants = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Task<TenantRuleSet>> _loading = new(StringComparer.Ordinal);
    private readonly IRecordingRuleSource _source;
    private readonly RecordingRulesOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<RecordingRulesCache> _logger;

    public RecordingRulesCache(IRecordingRuleSource source, RecordingRulesOptions options, TimeProvider time, ILogger<RecordingRulesCache> logger)
    {
        _source = source;
        _options = options;
        _time = time;
        _logger = logger;
        _source.Changed += Apply;
    }

    /// <summary>Tenants with an entry, for the exposition.</summary>
    public ICollection<string> Tenants => _tenants.Keys;

    /// <summary>The tenant's rules if this process has read them; schedules a refresh when they have expired.</summary>
    public bool TryGet(string tenantId, out TenantRuleSet rules)
    {
        if (!_tenants.TryGetValue(tenantId, out var entry))
        {
            rules = TenantRuleSet.Empty;
            return false;
        }
        rules = entry.Rules;
        if (_time.GetTimestamp() >= entry.RefreshAt && Interlocked.Exchange(ref entry.Refreshing, 1) == 0)
        {
            _ = LoadAsync(tenantId);
        }
        return true;
    }

    /// <summary>The tenant's rules, read from the source when this process has none yet (one read however many callers wait).</summary>
    public Task<TenantRuleSet> GetAsync(string tenantId) =>
        TryGet(tenantId, out var rules) ? Task.FromResult(rules) : LoadAsync(tenantId);

    private Task<TenantRuleSet> LoadAsync(string tenantId)
    {
        var created = new TaskCompletionSource<TenantRuleSet>(TaskCreationOptions.RunContinuationsAsynchronously);
        var loading = _loading.GetOrAdd(tenantId, created.Task);
        if (loading != created.Task)
        {
            return loading;
        }
        _ = Task.Run(async () =>
        {
            try
            {
                created.SetResult(await ReadAsync(tenantId).ConfigureAwait(false));
            }
            finally
            {
                _loading.TryRemove(new KeyValuePair<string, Task<TenantRuleSet>>(tenantId, created.Task));
            }
        });
        return created.Task;
    }

    private async Task<TenantRuleSet> ReadAsync(string tenantId)
    {
        _tenants.TryGetValue(tenantId, out var previous);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var rules = await _source.ListAsync(tenantId, timeout.Token).ConfigureAwait(false);
            return Store(tenantId, rules, previous, _options.RefreshInterval, replaceOnly: previous);
        }
        catch (Exception e)
        {
            // Keep what was there (or nothing) and try again soon; pushes are never refused for this.
            _logger.LogWarning("Reading the recording rules of tenant {Tenant} failed, retrying in {Retry}: {Error}", tenantId, RetryAfter, e.Message);
            var kept = previous?.Rules ?? TenantRuleSet.Empty;
            return Replace(tenantId, previous, new Entry(kept, _time.GetTimestamp() + Ticks(RetryAfter)));
        }
    }

    private TimeSpan RetryAfter => _options.RefreshInterval < TimeSpan.FromSeconds(5) ? _options.RefreshInterval : TimeSpan.FromSeconds(5);

    private void Apply(string tenantId, IReadOnlyList<RecordingRule> rules)
    {
        _tenants.TryGetValue(tenantId, out var previous);
        var entry = new Entry(Compile(tenantId, rules, previous), _time.GetTimestamp() + Ticks(_options.RefreshInterval));
        _tenants[tenantId] = entry;
    }

    private TenantRuleSet Store(string tenantId, IReadOnlyList<RecordingRule> rules, Entry? previous, TimeSpan validFor, Entry? replaceOnly) =>
        Replace(tenantId, replaceOnly, new Entry(Compile(tenantId, rules, previous), _time.GetTimestamp() + Ticks(validFor)));

    /// <summary>
    /// Installs <paramref name="entry"/> only if the tenant's entry is still <paramref name="expected"/>: a read that
    /// started before a change applied through this process must not put the older rules back.
    /// </summary>
    private TenantRuleSet Replace(string tenantId, Entry? expected, Entry entry)
    {
        var installed = expected is null ? _tenants.TryAdd(tenantId, entry) : _tenants.TryUpdate(tenantId, entry, expected);
        return installed ? entry.Rules : _tenants.TryGetValue(tenantId, out var current) ? current.Rules : entry.Rules;
    }

    private TenantRuleSet Compile(string tenantId, IReadOnlyList<RecordingRule> rules, Entry? previous) =>
        TenantRuleSet.Build(rules, previous?.Rules, (rule, e) =>
            _logger.LogWarning("Recording rule {Id} of tenant {Tenant} is not evaluated: {Error}", rule.Id, tenantId, e.Message));

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    private sealed class Entry(TenantRuleSet rules, long refreshAt)
    {
        public readonly TenantRuleSet Rules = rules;
        public readonly long RefreshAt = refreshAt;
        public int Refreshing;
    }
}
