using System.Text.RegularExpressions;

namespace Pyroscope.Model;

public enum MatchType
{
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

/// <summary>
/// One term of a Prometheus-style selector such as <c>env=~"prod|staging"</c>. Regular expressions run in
/// linear time (<see cref="RegexOptions.NonBacktracking"/>, RE2's guarantee, so <c>(a+)+b</c> cannot take a
/// CPU hostage), and each matcher, which lives for one query, may spend at most <see cref="RegexBudget"/> of
/// matching in total; past it the query fails with <see cref="RegexBudgetExceededException"/>.
/// </summary>
public sealed class LabelMatcher
{
    private const int SampleEvery = 8;

    /// <summary>Matching time one regular-expression matcher may use over its query.</summary>
    public static readonly TimeSpan DefaultRegexBudget = TimeSpan.FromSeconds(1);

    private readonly Regex? _regex;
    private readonly long _budgetTicks;
    private long _spentTicks;
    private long _matches;

    public LabelMatcher(string name, MatchType type, string value)
        : this(name, type, value, DefaultRegexBudget)
    {
    }

    /// <exception cref="ArgumentException">The regular expression is invalid or uses a construct linear-time matching lacks.</exception>
    public LabelMatcher(string name, MatchType type, string value, TimeSpan regexBudget)
    {
        Name = name;
        Type = type;
        Value = value;
        RegexBudget = regexBudget;
        // Infinite: a long-lived matcher (a recording rule's), matching in linear time with no per-query budget.
        _budgetTicks = regexBudget == Timeout.InfiniteTimeSpan ? long.MaxValue : (long)(regexBudget.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
        if (type is MatchType.Regex or MatchType.NotRegex)
        {
            try
            {
                // Anchored like Prometheus: the whole value must match.
                _regex = new Regex("^(?:" + value + ")$", RegexOptions.CultureInvariant | RegexOptions.NonBacktracking,
                    regexBudget == Timeout.InfiniteTimeSpan ? Regex.InfiniteMatchTimeout : regexBudget);
            }
            catch (NotSupportedException e)
            {
                // Backreferences, lookarounds, atomic groups: RE2 (Prometheus, upstream) has none of them either.
                throw new ArgumentException($"{e.Message} (regular expressions are matched in linear time, RE2 syntax)", nameof(value), e);
            }
        }
    }

    public TimeSpan RegexBudget { get; }

    public string Name { get; }

    public MatchType Type { get; }

    public string Value { get; }

    /// <summary>Whether a series whose label has <paramref name="value"/> (null when absent) matches; absent equals "".</summary>
    public bool Matches(string? value)
    {
        value ??= string.Empty;
        return Type switch
        {
            MatchType.Equal => value == Value,
            MatchType.NotEqual => value != Value,
            MatchType.Regex => IsRegexMatch(value),
            MatchType.NotRegex => !IsRegexMatch(value),
            _ => false,
        };
    }

    public bool Matches(LabelSet labels) => Matches(labels.Get(Name));

    private bool IsRegexMatch(string value)
    {
        // Every 8th match is timed and charged 8 times: linear-time matching is uniformly slow or fast for a given
        // pattern, so sampling finds a costly one while benign patterns pay one increment, not two clock reads.
        var timed = (Interlocked.Increment(ref _matches) & (SampleEvery - 1)) == 0;
        var start = timed ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
        bool matched;
        try
        {
            matched = _regex!.IsMatch(value);
        }
        catch (RegexMatchTimeoutException)
        {
            throw new RegexBudgetExceededException(this);
        }
        // Matchers are shared by a query's parallel readers: the budget is theirs together.
        if (timed && Interlocked.Add(ref _spentTicks, SampleEvery * (System.Diagnostics.Stopwatch.GetTimestamp() - start)) > _budgetTicks)
        {
            throw new RegexBudgetExceededException(this);
        }
        return matched;
    }

    public static bool MatchesAll(IReadOnlyList<LabelMatcher> matchers, LabelSet labels)
    {
        for (var i = 0; i < matchers.Count; i++)
        {
            if (!matchers[i].Matches(labels))
            {
                return false;
            }
        }
        return true;
    }

    public override string ToString()
    {
        var op = Type switch
        {
            MatchType.Equal => "=",
            MatchType.NotEqual => "!=",
            MatchType.Regex => "=~",
            _ => "!~",
        };
        return $"{Name}{op}\"{Value.Replace("\\", "\\\\").Replace("\"", "\\\"")}\"";
    }
}

/// <summary>A regular-expression matcher used up its time budget: the query is refused (400), never left running.</summary>
public sealed class RegexBudgetExceededException(LabelMatcher matcher)
    : Exception($"the regular expression of {matcher} used up its matching budget of {matcher.RegexBudget.TotalMilliseconds:0} ms in this query; use a simpler pattern or an exact match")
{
}
