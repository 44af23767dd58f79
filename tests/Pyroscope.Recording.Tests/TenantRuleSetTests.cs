using Pyroscope.Contracts.Google.V1;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Contracts.Settings.V1;
using Pyroscope.Testing;
using TypesV1 = Pyroscope.Contracts.Types.V1;

namespace Pyroscope.Recording.Tests;

/// <summary>A tenant's rules evaluated against pushes: which profiles count, into which group, and when.</summary>
public class TenantRuleSetTests
{
    private const string CpuType = "process_cpu:cpu:nanoseconds:cpu:nanoseconds";
    private const string HeapType = "memory:inuse_space:bytes:space:bytes";

    [Fact]
    public void Totals_go_to_the_group_of_matching_profiles_of_the_rules_type_only_once_committed()
    {
        var profile = PprofFixtures.LoadPprof("go/go-cpu.pb.gz");
        var total = PprofFixtures.Stacks(profile, 0).Sum(s => s.Value);
        var rules = TenantRuleSet.Build(
        [
            Rule("byservice", "profiles_recorded_cpu_total", [$"{{__profile_type__=\"{CpuType}\"}}"], groupBy: ["service_name"]),
            Rule("prodonly", "profiles_recorded_prod_cpu_total", [$"{{__profile_type__=\"{CpuType}\", env=\"prod\"}}"]),
        ], previous: null);

        var push = new Google.Protobuf.Collections.RepeatedField<ProfileSeries>
        {
            Series(CpuType, profile, ("service_name", "checkout"), ("env", "prod")),
            Series(CpuType, profile, ("service_name", "billing"), ("env", "dev")),
            Series(HeapType, profile, ("service_name", "checkout"), ("env", "prod")),
        };
        var additions = new List<(RecordedSeries Series, long Value)>();
        rules.Evaluate(push, additions);
        var recorded = new RecordedAdditions(additions);

        // Nothing shows before the push is stored.
        Assert.All(rules.Rules.SelectMany(r => r.Series), s => Assert.Equal(0, s.Value));
        recorded.Commit();

        var byService = rules.Find("byservice")!.Series.ToDictionary(s => s.Labels["service_name"], s => s.Value);
        Assert.Equal(new Dictionary<string, long> { ["checkout"] = total, ["billing"] = total }, byService);
        var prod = Assert.Single(rules.Find("prodonly")!.Series);
        Assert.Equal(total, prod.Value);
        Assert.Equal(new Dictionary<string, string> { ["profiles_rule_id"] = "prodonly" }, prod.Labels);
    }

    [Fact]
    public void A_function_rule_adds_the_function_total_and_rebuilding_keeps_counters_until_the_rule_changes()
    {
        var profile = PprofFixtures.LoadPprof("go/go-cpu.pb.gz");
        var expected = PprofFixtures.Stacks(profile, 0).Where(s => s.Stack.Contains("sort.pdqsort")).Sum(s => s.Value);
        Assert.InRange(expected, 1, long.MaxValue);
        var rule = Rule("sorting", "profiles_recorded_sort_total", [$"{{__profile_type__=\"{CpuType}\"}}"], function: "sort.pdqsort");
        var rules = TenantRuleSet.Build([rule], previous: null);
        Push(rules, Series(CpuType, profile, ("service_name", "a")));
        Assert.Equal(expected, Assert.Single(rules.Find("sorting")!.Series).Value);

        // The same rule at the same generation keeps its counter (a refresh must not reset Prometheus' counters).
        var refreshed = TenantRuleSet.Build([rule.Clone()], rules);
        Push(refreshed, Series(CpuType, profile, ("service_name", "a")));
        Assert.Equal(2 * expected, Assert.Single(refreshed.Find("sorting")!.Series).Value);

        // A new generation is a new rule: it starts from zero.
        var changed = rule.Clone();
        changed.Generation = 2;
        var rebuilt = TenantRuleSet.Build([changed], refreshed);
        Assert.Empty(rebuilt.Find("sorting")!.Series);
    }

    [Fact]
    public void Rules_that_do_not_compile_are_reported_and_left_out()
    {
        var reported = new List<string>();
        var rules = TenantRuleSet.Build(
        [
            Rule("good", "profiles_recorded_ok_total", [$"{{__profile_type__=\"{CpuType}\"}}"]),
            Rule("bad", "not_prefixed", ["{service_name=\"a\"}"]),
        ], previous: null, (r, e) => reported.Add(r.Id + ": " + e.Message));
        Assert.Equal(["good"], rules.Rules.Select(r => r.Id));
        var report = Assert.Single(reported);
        Assert.Contains("metric_name", report);
        Assert.Contains("__profile_type__", report);
    }

    [Fact]
    public void A_rule_stops_adding_groups_at_its_limit_and_counts_what_it_dropped()
    {
        var rules = TenantRuleSet.Build([Rule("many", "profiles_recorded_many_total", [$"{{__profile_type__=\"{CpuType}\"}}"], groupBy: ["pod"])], null);
        var profile = new Profile { Sample = { new Sample { Value = { 7 } } } };
        var compiled = rules.Find("many")!;
        var push = new Google.Protobuf.Collections.RepeatedField<ProfileSeries>();
        for (var i = 0; i <= CompiledRecordingRule.MaxSeriesPerRule; i++)
        {
            push.Add(Series(CpuType, profile, ("pod", "pod-" + i)));
        }
        Push(rules, push);
        Assert.Equal(CompiledRecordingRule.MaxSeriesPerRule, compiled.Series.Count);
        Assert.Equal(1, compiled.DroppedSamples);
        Assert.Equal(7L * CompiledRecordingRule.MaxSeriesPerRule, compiled.Series.Sum(s => s.Value));
    }

    private static void Push(TenantRuleSet rules, params ProfileSeries[] series)
    {
        var push = new Google.Protobuf.Collections.RepeatedField<ProfileSeries>();
        push.AddRange(series);
        Push(rules, push);
    }

    private static void Push(TenantRuleSet rules, Google.Protobuf.Collections.RepeatedField<ProfileSeries> push)
    {
        var additions = new List<(RecordedSeries Series, long Value)>();
        rules.Evaluate(push, additions);
        new RecordedAdditions(additions).Commit();
    }

    internal static RecordingRule Rule(string id, string metric, string[] matchers, string[]? groupBy = null, string? function = null)
    {
        var rule = new RecordingRule { Id = id, MetricName = metric, Generation = 1 };
        rule.Matchers.AddRange(matchers);
        rule.GroupBy.AddRange(groupBy ?? []);
        if (function is not null)
        {
            rule.StacktraceFilter = new StacktraceFilter { FunctionName = new StacktraceFilterFunctionName { FunctionName = function } };
        }
        return rule;
    }

    internal static ProfileSeries Series(string type, Profile profile, params (string Name, string Value)[] labels)
    {
        var series = new ProfileSeries { Profile = profile };
        series.Labels.Add(new TypesV1.LabelPair { Name = "__profile_type__", Value = type });
        foreach (var (name, value) in labels)
        {
            series.Labels.Add(new TypesV1.LabelPair { Name = name, Value = value });
        }
        return series;
    }
}
