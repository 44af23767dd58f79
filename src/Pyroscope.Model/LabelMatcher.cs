using System.Text.RegularExpressions;

namespace Pyroscope.Model;

public enum MatchType
{
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

/// <summary>One term of a Prometheus-style selector such as <c>env=~"prod|staging"</c>.</summary>
public sealed class LabelMatcher
{
    private readonly Regex? _regex;

    public LabelMatcher(string name, MatchType type, string value)
    {
        Name = name;
        Type = type;
        Value = value;
        if (type is MatchType.Regex or MatchType.NotRegex)
        {
            // Anchored like Prometheus: the whole value must match.
            _regex = new Regex("^(?:" + value + ")$", RegexOptions.CultureInvariant | RegexOptions.Compiled, TimeSpan.FromSeconds(1));
        }
    }

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
            MatchType.Regex => _regex!.IsMatch(value),
            MatchType.NotRegex => !_regex!.IsMatch(value),
            _ => false,
        };
    }

    public bool Matches(LabelSet labels) => Matches(labels.Get(Name));

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
