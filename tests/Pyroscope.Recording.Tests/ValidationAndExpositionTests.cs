using System.Text;
using Pyroscope.Api;
using Pyroscope.Contracts.Settings.V1;
using TypesV1 = Pyroscope.Contracts.Types.V1;

namespace Pyroscope.Recording.Tests;

public class ValidationAndExpositionTests
{
    private const string CpuType = "process_cpu:cpu:nanoseconds:cpu:nanoseconds";

    [Fact]
    public void A_new_rule_gets_a_ten_letter_id_at_generation_one()
    {
        var request = new UpsertRecordingRuleRequest { MetricName = " profiles_recorded_x ", Matchers = { $"{{__profile_type__=\"{CpuType}\"}}" } };
        RecordingRuleValidator.ValidateUpsert(request);
        Assert.Matches("^[a-zA-Z]{10}$", request.Id);
        Assert.Equal(1, request.Generation);
        Assert.Equal("profiles_recorded_x", request.MetricName);
    }

    [Fact]
    public void Every_problem_is_named_in_one_invalid_argument()
    {
        var request = new UpsertRecordingRuleRequest
        {
            Id = "has-dash",
            MetricName = "cpu",
            Matchers = { "{service_name=~\"(\"}", "{__profile_type__!=\"x\"}" },
            GroupBy = { "bad-label" },
            ExternalLabels = { new TypesV1.LabelPair { Name = "profiles_rule_id", Value = "x" } },
            StacktraceFilter = new StacktraceFilter { FunctionName = new StacktraceFilterFunctionName { FunctionName = "f", MetricType = (MetricType)5 } },
        };
        var error = Assert.Throws<ApiException>(() => RecordingRuleValidator.ValidateUpsert(request));
        Assert.Equal(ConnectCode.InvalidArgument, error.Code);
        foreach (var named in new[] { "id \"has-dash\"", "metric_name \"cpu\"", "matcher \"{service_name=~", "__profile_type__ must be matched with \"=\"", "group_by label \"bad-label\"", "external_labels name \"profiles_rule_id\"", "stacktrace_filter.function_name.metric_type 5" })
        {
            Assert.Contains(named, error.Message);
        }
    }

    [Fact]
    public void Rules_sharing_a_name_share_a_family_and_label_values_are_escaped()
    {
        var rules = TenantRuleSet.Build(
        [
            TenantRuleSetTests.Rule("first", "profiles_recorded_cpu_total", [$"{{__profile_type__=\"{CpuType}\"}}"], groupBy: ["service_name"]),
            TenantRuleSetTests.Rule("second", "profiles_recorded_cpu_total", [$"{{__profile_type__=\"{CpuType}\"}}"]),
        ], null);
        var profile = new Contracts.Google.V1.Profile { Sample = { new Contracts.Google.V1.Sample { Value = { 5 } } } };
        var push = new Google.Protobuf.Collections.RepeatedField<Contracts.Ingester.V1.ProfileSeries>
        {
            TenantRuleSetTests.Series(CpuType, profile, ("service_name", "a\"b\\c\nd")),
        };
        var additions = new List<(RecordedSeries Series, long Value)>();
        rules.Evaluate(push, additions);
        new RecordedAdditions(additions).Commit();

        var text = new StringBuilder();
        PrometheusExposition.Write(rules, text);
        var lines = text.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines, l => l.StartsWith("# TYPE profiles_recorded_cpu_total counter", StringComparison.Ordinal));
        Assert.Single(lines, l => l.StartsWith("# HELP profiles_recorded_cpu_total ", StringComparison.Ordinal));
        Assert.Equal(
        [
            "profiles_recorded_cpu_total{profiles_rule_id=\"first\",service_name=\"a\\\"b\\\\c\\nd\"} 5",
            "profiles_recorded_cpu_total{profiles_rule_id=\"second\"} 5",
        ], lines.Where(l => l[0] != '#'));
    }
}
