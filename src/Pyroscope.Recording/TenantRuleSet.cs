using System.Buffers;
using Google.Protobuf.Collections;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Contracts.Settings.V1;
using Pyroscope.Model;
using Pprof = Pyroscope.Contracts.Google.V1;

namespace Pyroscope.Recording;

/// <summary>
/// One tenant's compiled rules, indexed by profile type, evaluated against each accepted push. A push whose profile
/// types no rule names costs one dictionary lookup per profile; function rules cost one pass over the profile's
/// functions, locations and samples, shared by every function rule of that profile type, with pooled buffers.
/// </summary>
public sealed class TenantRuleSet
{
    public static readonly TenantRuleSet Empty = new([]);

    private readonly Dictionary<string, TypeRules> _byType = new(StringComparer.Ordinal);

    private TenantRuleSet(IReadOnlyList<CompiledRecordingRule> rules)
    {
        Rules = rules;
        var grouped = new Dictionary<string, List<CompiledRecordingRule>>(StringComparer.Ordinal);
        foreach (var rule in rules)
        {
            if (!grouped.TryGetValue(rule.ProfileType, out var list))
            {
                grouped[rule.ProfileType] = list = [];
            }
            list.Add(rule);
        }
        foreach (var (type, list) in grouped)
        {
            _byType[type] = new TypeRules([.. list]);
        }
    }

    public IReadOnlyList<CompiledRecordingRule> Rules { get; }

    public bool IsEmpty => Rules.Count == 0;

    /// <summary>
    /// Compiles <paramref name="rules"/>, keeping the compiled rule (and so its counters) of every rule whose id and
    /// generation <paramref name="previous"/> already had. Rules that do not compile are left out and reported.
    /// </summary>
    public static TenantRuleSet Build(IReadOnlyList<RecordingRule> rules, TenantRuleSet? previous, Action<RecordingRule, Exception>? invalid = null)
    {
        if (rules.Count == 0)
        {
            return Empty;
        }
        var compiled = new List<CompiledRecordingRule>(rules.Count);
        foreach (var rule in rules)
        {
            var kept = previous?.Find(rule.Id);
            if (kept is not null && kept.Generation == rule.Generation && kept.Rule.Equals(rule))
            {
                compiled.Add(kept);
                continue;
            }
            try
            {
                compiled.Add(CompiledRecordingRule.Compile(rule));
            }
            catch (Exception e) when (e is Api.ApiException or ArgumentException)
            {
                invalid?.Invoke(rule, e);
            }
        }
        return compiled.Count == 0 ? Empty : new TenantRuleSet(compiled);
    }

    public CompiledRecordingRule? Find(string id)
    {
        foreach (var rule in Rules)
        {
            if (rule.Id == id)
            {
                return rule;
            }
        }
        return null;
    }

    /// <summary>
    /// What every profile of a push adds to the rules that match it, appended to <paramref name="additions"/>; nothing
    /// is counted until <see cref="RecordedAdditions.Commit"/>, once the push is stored.
    /// </summary>
    public void Evaluate(RepeatedField<ProfileSeries> pushed, List<(RecordedSeries Series, long Value)> additions)
    {
        if (_byType.Count == 0)
        {
            return;
        }
        foreach (var series in pushed)
        {
            var type = CompiledRecordingRule.Find(series.Labels, LabelNames.ProfileType);
            if (type is null || !_byType.TryGetValue(type, out var rules))
            {
                continue;
            }
            rules.Evaluate(series, additions);
        }
    }

    /// <summary>The rules of one profile type and the distinct function names their stack-trace filters name.</summary>
    private sealed class TypeRules
    {
        private readonly CompiledRecordingRule[] _rules;
        private readonly int[] _functionSlot;
        private readonly Dictionary<string, int> _slotByFunction = new(StringComparer.Ordinal);

        public TypeRules(CompiledRecordingRule[] rules)
        {
            _rules = rules;
            _functionSlot = new int[rules.Length];
            for (var i = 0; i < rules.Length; i++)
            {
                var name = rules[i].FunctionName;
                if (name is null)
                {
                    _functionSlot[i] = -1;
                    continue;
                }
                if (!_slotByFunction.TryGetValue(name, out var slot))
                {
                    _slotByFunction[name] = slot = _slotByFunction.Count;
                }
                _functionSlot[i] = slot;
            }
        }

        public void Evaluate(ProfileSeries series, List<(RecordedSeries Series, long Value)> additions)
        {
            long total = 0;
            var haveTotal = false;
            long[]? functionTotals = null;
            try
            {
                for (var i = 0; i < _rules.Length; i++)
                {
                    var rule = _rules[i];
                    if (!rule.Matches(series.Labels))
                    {
                        continue;
                    }
                    long value;
                    if (_functionSlot[i] < 0)
                    {
                        if (!haveTotal)
                        {
                            (total, haveTotal) = (ProfileTotal(series.Profile), true);
                        }
                        value = total;
                    }
                    else
                    {
                        functionTotals ??= FunctionTotals.Compute(series.Profile, _slotByFunction);
                        value = functionTotals[_functionSlot[i]];
                    }
                    if (rule.SeriesFor(series.Labels, series.Fingerprint) is { } target)
                    {
                        additions.Add((target, value));
                    }
                }
            }
            finally
            {
                if (functionTotals is not null)
                {
                    ArrayPool<long>.Shared.Return(functionTotals);
                }
            }
        }

        private static long ProfileTotal(Pprof.Profile? profile)
        {
            long sum = 0;
            if (profile is null)
            {
                return 0;
            }
            foreach (var sample in profile.Sample)
            {
                if (sample.Value.Count > 0)
                {
                    sum += sample.Value[0];
                }
            }
            return sum;
        }
    }
}
