using Pyroscope.Model.Buffers;
using Pyroscope.Model.Query;

namespace Pyroscope.Model.Tests;

/// <summary>Arithmetic and matching on client input: no overflow, no wrap, no backtracking blow-up.</summary>
public class InputBoundsTests
{
    private const long Now = 1_760_000_000_000;

    [Theory]
    [InlineData("now+9223372036854775s")]
    [InlineData("now+106751991168d")]
    [InlineData("now-99999999999999999999y")]
    [InlineData("now+1000000000000000y")]
    public void Relative_times_that_overflow_are_invalid_not_wrapped(string text) =>
        Assert.False(QueryTime.TryParseMs(text, Now, out _));

    [Fact]
    public void Far_but_representable_times_parse_exactly_and_clamp_for_queries()
    {
        // 106751991167 days is just under int64 milliseconds: a valid, exact, absurd time.
        Assert.True(QueryTime.TryParseMs("now-106751991167d", Now, out var ms));
        Assert.Equal(Now - 106_751_991_167L * 86_400_000, ms);
        Assert.Equal(0, QueryTime.ClampMs(ms));
    }

    [Fact]
    public void Times_just_inside_the_range_still_parse()
    {
        Assert.True(QueryTime.TryParseMs("now-1h", Now, out var ms));
        Assert.Equal(Now - 3_600_000, ms);
        Assert.True(QueryTime.TryParseMs("now+106751991d", Now, out ms));
        Assert.Equal(Now + 106_751_991L * 86_400_000, ms);
    }

    [Fact]
    public void Query_bounds_clamp_to_1970_through_9999()
    {
        Assert.Equal(0, QueryTime.ClampMs(-9_000_000_000_000_000_000));
        Assert.Equal(QueryTime.MaxUnixMs, QueryTime.ClampMs(long.MaxValue));
        Assert.Equal(Now, QueryTime.ClampMs(Now));
        Assert.Equal(253_402_300_799_999, QueryTime.MaxUnixMs);
    }

    [Theory]
    [InlineData(long.MaxValue, 1, long.MaxValue)]
    [InlineData(long.MaxValue, long.MaxValue, long.MaxValue)]
    [InlineData(long.MinValue, -1, long.MinValue)]
    [InlineData(long.MaxValue, long.MinValue, -1)]
    [InlineData(40, 2, 42)]
    public void Sums_saturate_instead_of_wrapping(long a, long b, long expected) =>
        Assert.Equal(expected, Saturating.Add(a, b));

    [Fact]
    public void Stack_tree_totals_saturate()
    {
        var tree = new StackTree();
        tree.Add(long.MaxValue, "main", "a");
        tree.Add(long.MaxValue, "main", "a");
        tree.Add(long.MaxValue, "main", "b");
        Assert.Equal(long.MaxValue, tree.Total);
    }

    [Fact]
    public void Catastrophic_backtracking_patterns_match_in_linear_time()
    {
        // With a backtracking engine this takes seconds (2^40 paths); linear-time matching answers at once,
        // well inside the one-second budget, so no budget exception either.
        var matcher = new LabelMatcher("service_name", MatchType.Regex, "(a+)+b");
        Assert.False(matcher.Matches(new string('a', 40) + "c"));
        Assert.True(matcher.Matches(new string('a', 40) + "b"));
    }

    [Theory]
    [InlineData("(a)\\1")] // backreference
    [InlineData("(?=a)a")] // lookahead
    [InlineData("(?>a+)b")] // atomic group
    public void Constructs_without_a_linear_time_form_are_refused_as_invalid(string pattern)
    {
        var e = Assert.Throws<ArgumentException>(() => new LabelMatcher("env", MatchType.Regex, pattern));
        Assert.Contains("linear time", e.Message);
    }

    [Fact]
    public void A_matcher_that_used_up_its_budget_stops_the_query()
    {
        var matcher = new LabelMatcher("env", MatchType.NotRegex, "prod|staging", TimeSpan.FromTicks(1));
        // Matching time is sampled (every 8th match is timed), so a query notices within a few series.
        var e = Assert.Throws<RegexBudgetExceededException>(() =>
        {
            for (var i = 0; i < 16; i++)
            {
                matcher.Matches("production");
            }
        });
        Assert.Contains("env!~\"prod|staging\"", e.Message);
        Assert.Contains("budget", e.Message);
    }

    [Fact]
    public void Pooled_reads_stop_one_byte_past_the_cap()
    {
        using var ok = PooledBytes.Read(new MemoryStream(new byte[5000]), 5000, 10);
        Assert.Equal(5000, ok.Length);
        var e = Assert.Throws<PooledBytes.LimitExceededException>(() => PooledBytes.Read(new MemoryStream(new byte[5001]), 5000, 10));
        Assert.Equal(5000, e.Limit);
        // An unlimited cap grows as needed (no overflow computing "cap + 1").
        using var unlimited = PooledBytes.Read(new MemoryStream(new byte[3 * PooledBytes.MaxPooledLength]), long.MaxValue, 0);
        Assert.Equal(3 * PooledBytes.MaxPooledLength, unlimited.Length);
    }
}
