using BenchmarkDotNet.Attributes;
using Pyroscope.Model;
using MatchType = Pyroscope.Model.MatchType;

namespace Pyroscope.Benchmarks.Query;

/// <summary>
/// Label matching over 5 000 series values, as a query's series scan does: a catastrophic-backtracking regex
/// (<c>(a+)+b</c> against values of 40 'a's and a 'c', ≈ 2⁴⁰ paths for a backtracking engine) and a plain
/// alternation, against an exact match (the baseline). Linear-time matching keeps the hostile pattern within a
/// small factor of the others, so such queries cannot take the CPU other tenants' queries need.
/// </summary>
[MemoryDiagnoser]
public class MatcherBenchmarks
{
    private readonly string[] _values = new string[5000];
    private LabelMatcher _exact = null!;
    private LabelMatcher _alternation = null!;
    private LabelMatcher _backtracking = null!;
    private System.Text.RegularExpressions.Regex _compiledBacktracking = null!;

    [GlobalSetup]
    public void Setup()
    {
        for (var i = 0; i < _values.Length; i++)
        {
            _values[i] = i % 2 == 0 ? new string('a', 40) + "c" : "service-" + i;
        }
        // A matcher lives for one query and may spend 1 s matching in it; the benchmark reuses one for millions of
        // scans, so it gets a budget that never runs out (the budget's own cost, two timestamps per match, stays in).
        var budget = TimeSpan.FromDays(1);
        _exact = new LabelMatcher("service_name", MatchType.Equal, "service-7");
        _alternation = new LabelMatcher("service_name", MatchType.Regex, "service-7|service-9|api", budget);
        _backtracking = new LabelMatcher("service_name", MatchType.Regex, "(a+)+b", budget);
        // What matchers were before: a compiled backtracking regex (fast on benign patterns, exponential on hostile ones).
        _compiledBacktracking = new System.Text.RegularExpressions.Regex("^(?:service-7|service-9|api)$",
            System.Text.RegularExpressions.RegexOptions.CultureInvariant | System.Text.RegularExpressions.RegexOptions.Compiled);
    }

    [Benchmark(Baseline = true)]
    public int Exact() => Count(_exact);

    [Benchmark]
    public int Alternation() => Count(_alternation);

    [Benchmark]
    public int CatastrophicBacktrackingPattern() => Count(_backtracking);

    /// <summary>The alternation with the former engine, for the price of linear time on benign patterns.</summary>
    [Benchmark]
    public int AlternationCompiledBacktracking()
    {
        var n = 0;
        foreach (var v in _values)
        {
            n += _compiledBacktracking.IsMatch(v) ? 1 : 0;
        }
        return n;
    }

    private int Count(LabelMatcher matcher)
    {
        var n = 0;
        foreach (var v in _values)
        {
            n += matcher.Matches(v) ? 1 : 0;
        }
        return n;
    }
}
