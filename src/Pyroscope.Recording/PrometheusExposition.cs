using System.Globalization;
using System.Text;

namespace Pyroscope.Recording;

/// <summary>
/// A tenant's recorded series in the Prometheus text exposition format 0.0.4: one counter family per metric name
/// (rules sharing a name share a family and differ by <c>profiles_rule_id</c>), families and series in a stable
/// order, label values and help text escaped as the format requires.
/// </summary>
public static class PrometheusExposition
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public static void Write(TenantRuleSet rules, StringBuilder output)
    {
        var families = new SortedDictionary<string, List<CompiledRecordingRule>>(StringComparer.Ordinal);
        foreach (var rule in rules.Rules)
        {
            if (!families.TryGetValue(rule.MetricName, out var list))
            {
                families[rule.MetricName] = list = [];
            }
            list.Add(rule);
        }
        foreach (var (name, family) in families)
        {
            family.Sort(static (a, b) => string.CompareOrdinal(a.Id, b.Id));
            output.Append("# HELP ").Append(name).Append(' ');
            AppendHelp(output, Help(family));
            output.Append('\n');
            output.Append("# TYPE ").Append(name).Append(" counter\n");
            var lines = new List<string>();
            foreach (var rule in family)
            {
                foreach (var series in rule.Series)
                {
                    var line = new StringBuilder(name);
                    AppendLabels(line, series.Labels);
                    line.Append(' ').Append(series.Value.ToString(CultureInfo.InvariantCulture));
                    lines.Add(line.ToString());
                }
            }
            lines.Sort(StringComparer.Ordinal);
            foreach (var line in lines)
            {
                output.Append(line).Append('\n');
            }
        }
    }

    private static string Help(List<CompiledRecordingRule> family)
    {
        var help = new StringBuilder("Pyroscope recording rule");
        help.Append(family.Count > 1 ? "s " : " ");
        for (var i = 0; i < family.Count; i++)
        {
            var rule = family[i];
            help.Append(i == 0 ? "" : ", ").Append(rule.Id).Append(": ")
                .Append(rule.FunctionName is null ? "total" : "total of stacks containing " + rule.FunctionName)
                .Append(" of ").Append(rule.ProfileType);
        }
        return help.Append(", summed over the profiles this process received").ToString();
    }

    private static void AppendLabels(StringBuilder line, IReadOnlyDictionary<string, string> labels)
    {
        line.Append('{');
        var first = true;
        foreach (var (name, value) in labels)
        {
            if (!first)
            {
                line.Append(',');
            }
            first = false;
            line.Append(name).Append("=\"");
            foreach (var c in value)
            {
                switch (c)
                {
                    case '\\': line.Append("\\\\"); break;
                    case '"': line.Append("\\\""); break;
                    case '\n': line.Append("\\n"); break;
                    default: line.Append(c); break;
                }
            }
            line.Append('"');
        }
        line.Append('}');
    }

    private static void AppendHelp(StringBuilder output, string help)
    {
        foreach (var c in help)
        {
            switch (c)
            {
                case '\\': output.Append("\\\\"); break;
                case '\n': output.Append("\\n"); break;
                default: output.Append(c); break;
            }
        }
    }
}
