using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Pyroscope.Model.Query;

/// <summary>A selector that could not be parsed; says where and what was expected.</summary>
public sealed class SelectorParseException(string selector, int position, string message)
    : FormatException($"parse error at position {position + 1} of '{selector}': {message}")
{
    /// <summary>Zero-based offset of the offending character.</summary>
    public int Position { get; } = position;
}

/// <summary>
/// The result of parsing <c>type{matchers}</c>: the user's matchers, plus a <c>__profile_type__</c>
/// matcher when the selector named a profile type.
/// </summary>
public sealed record ParsedSelector(ProfileTypeId? ProfileType, IReadOnlyList<LabelMatcher> Matchers);

/// <summary>
/// Parses Prometheus-style series selectors as Pyroscope accepts them:
/// <c>process_cpu:cpu:nanoseconds:cpu:nanoseconds{service_name="api", env=~"prod|staging"}</c>,
/// a bare <c>{...}</c>, or just the metric part. Supports <c>= != =~ !~</c>, double, single and
/// back-quoted strings with Go escapes, and a trailing comma.
/// </summary>
public static class SelectorParser
{
    /// <summary>Parses a selector; throws <see cref="SelectorParseException"/> on bad input.</summary>
    public static ParsedSelector Parse(string? selector)
    {
        var p = new Cursor(selector ?? string.Empty);
        p.SkipSpace();
        ProfileTypeId? profileType = null;
        var matchers = new List<LabelMatcher>();
        if (!p.AtEnd && p.Current != '{')
        {
            var start = p.Position;
            var name = p.ReadMetricName();
            if (name.Length == 0)
            {
                throw p.Error("expected a profile type or '{'");
            }
            if (!ProfileTypeId.TryParse(name, out profileType))
            {
                throw new SelectorParseException(p.Text, start,
                    $"'{name}' is not a profile type (expected name:sample_type:sample_unit:period_type:period_unit)");
            }
            p.SkipSpace();
        }
        if (!p.AtEnd)
        {
            p.Expect('{');
            p.SkipSpace();
            while (!p.AtEnd && p.Current != '}')
            {
                var nameStart = p.Position;
                var labelName = p.ReadLabelName();
                if (labelName.Length == 0)
                {
                    throw p.Error("expected a label name");
                }
                p.SkipSpace();
                var type = p.ReadOperator();
                p.SkipSpace();
                var value = p.ReadString();
                matchers.Add(CreateMatcher(p.Text, nameStart, labelName, type, value));
                p.SkipSpace();
                if (!p.AtEnd && p.Current == ',')
                {
                    p.Advance();
                    p.SkipSpace();
                    continue;
                }
                if (p.AtEnd || p.Current != '}')
                {
                    throw p.Error("expected ',' or '}'");
                }
            }
            p.Expect('}');
            p.SkipSpace();
            if (!p.AtEnd)
            {
                throw p.Error("expected end of selector");
            }
        }
        else if (profileType is null && p.Text.Trim().Length == 0)
        {
            // An empty selector selects everything, as upstream treats "{}".
        }

        foreach (var m in matchers)
        {
            if (m.Name == LabelNames.MetricName && m.Type == MatchType.Equal && profileType is null && ProfileTypeId.TryParse(m.Value, out var fromName))
            {
                // {__name__="process_cpu:cpu:..."} is how the legacy render API spells a profile type.
                profileType = fromName;
            }
        }
        if (profileType is not null)
        {
            var result = new List<LabelMatcher>(matchers.Count + 1)
            {
                new(LabelNames.ProfileType, MatchType.Equal, profileType.Id),
            };
            foreach (var m in matchers)
            {
                if (!(m.Name == LabelNames.MetricName && m.Type == MatchType.Equal && m.Value == profileType.Id))
                {
                    result.Add(m);
                }
            }
            matchers = result;
        }
        return new ParsedSelector(profileType, matchers);
    }

    /// <summary>Parses a label selector that must not carry a profile type (e.g. <c>label_selector</c> of querier.v1).</summary>
    public static IReadOnlyList<LabelMatcher> ParseMatchers(string? selector) => Parse(selector).Matchers;

    private static LabelMatcher CreateMatcher(string text, int position, string name, MatchType type, string value)
    {
        try
        {
            return new LabelMatcher(name, type, value);
        }
        catch (ArgumentException e)
        {
            throw new SelectorParseException(text, position, $"invalid regular expression for label '{name}': {e.Message}");
        }
    }

    private struct Cursor(string text)
    {
        public readonly string Text = text;
        public int Position;

        public readonly bool AtEnd => Position >= Text.Length;

        public readonly char Current => Text[Position];

        public void Advance() => Position++;

        public void SkipSpace()
        {
            while (!AtEnd && char.IsWhiteSpace(Current))
            {
                Position++;
            }
        }

        public readonly SelectorParseException Error(string expected)
        {
            var found = AtEnd ? "end of input" : $"'{Current}'";
            return new SelectorParseException(Text, Position, $"{expected}, found {found}");
        }

        public void Expect(char c)
        {
            if (AtEnd || Current != c)
            {
                throw Error($"expected '{c}'");
            }
            Position++;
        }

        // Profile type ids contain ':' and '.', which Prometheus metric names allow too ('.' as a Pyroscope extension).
        public string ReadMetricName()
        {
            var start = Position;
            while (!AtEnd && (char.IsAsciiLetterOrDigit(Current) || Current is '_' or ':' or '.' or '-'))
            {
                Position++;
            }
            return Text[start..Position];
        }

        public string ReadLabelName()
        {
            var start = Position;
            if (!AtEnd && (char.IsAsciiLetter(Current) || Current == '_'))
            {
                Position++;
                while (!AtEnd && (char.IsAsciiLetterOrDigit(Current) || Current is '_' or '.'))
                {
                    Position++;
                }
            }
            return Text[start..Position];
        }

        public MatchType ReadOperator()
        {
            if (AtEnd)
            {
                throw Error("expected one of '=', '!=', '=~', '!~'");
            }
            var c = Current;
            var next = Position + 1 < Text.Length ? Text[Position + 1] : '\0';
            switch (c)
            {
                case '=' when next == '~':
                    Position += 2;
                    return MatchType.Regex;
                case '=':
                    Position++;
                    return MatchType.Equal;
                case '!' when next == '=':
                    Position += 2;
                    return MatchType.NotEqual;
                case '!' when next == '~':
                    Position += 2;
                    return MatchType.NotRegex;
                default:
                    throw Error("expected one of '=', '!=', '=~', '!~'");
            }
        }

        public string ReadString()
        {
            if (AtEnd || Current is not ('"' or '\'' or '`'))
            {
                throw Error("expected a quoted string");
            }
            var quote = Current;
            var start = Position;
            Position++;
            var sb = new StringBuilder();
            while (true)
            {
                if (AtEnd)
                {
                    throw new SelectorParseException(Text, start, "unterminated string");
                }
                var c = Current;
                Position++;
                if (c == quote)
                {
                    return sb.ToString();
                }
                if (c == '\\' && quote != '`')
                {
                    ReadEscape(sb, quote);
                    continue;
                }
                if (c == '\n' && quote != '`')
                {
                    throw new SelectorParseException(Text, Position - 1, "newline in string");
                }
                sb.Append(c);
            }
        }

        private void ReadEscape(StringBuilder sb, char quote)
        {
            if (AtEnd)
            {
                throw new SelectorParseException(Text, Position - 1, "unterminated escape sequence");
            }
            var escapeStart = Position - 1;
            var c = Current;
            Position++;
            switch (c)
            {
                case 'a': sb.Append('\a'); return;
                case 'b': sb.Append('\b'); return;
                case 'f': sb.Append('\f'); return;
                case 'n': sb.Append('\n'); return;
                case 'r': sb.Append('\r'); return;
                case 't': sb.Append('\t'); return;
                case 'v': sb.Append('\v'); return;
                case '\\': sb.Append('\\'); return;
                case 'x': sb.Append((char)ReadHex(2, escapeStart)); return;
                case 'u': sb.Append(char.ConvertFromUtf32(ReadHex(4, escapeStart))); return;
                case 'U': sb.Append(char.ConvertFromUtf32(ReadHex(8, escapeStart))); return;
                default:
                    if (c == quote)
                    {
                        sb.Append(c);
                        return;
                    }
                    if (c is >= '0' and <= '7')
                    {
                        Position--;
                        sb.Append((char)ReadOctal(escapeStart));
                        return;
                    }
                    throw new SelectorParseException(Text, escapeStart, $"unknown escape sequence '\\{c}'");
            }
        }

        private int ReadHex(int digits, int escapeStart)
        {
            if (Position + digits > Text.Length
                || !int.TryParse(Text.AsSpan(Position, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value)
                || value is < 0 or > 0x10FFFF or (>= 0xD800 and <= 0xDFFF))
            {
                throw new SelectorParseException(Text, escapeStart, $"invalid escape sequence: expected {digits} hex digits");
            }
            Position += digits;
            return value;
        }

        private int ReadOctal(int escapeStart)
        {
            var value = 0;
            for (var i = 0; i < 3; i++)
            {
                if (AtEnd || Current is < '0' or > '7')
                {
                    throw new SelectorParseException(Text, escapeStart, "invalid escape sequence: expected 3 octal digits");
                }
                value = value * 8 + (Current - '0');
                Position++;
            }
            if (value > 255)
            {
                throw new SelectorParseException(Text, escapeStart, "octal escape value > 255");
            }
            return value;
        }
    }
}
