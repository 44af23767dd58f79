using Pyroscope.Model;
using MatchType = Pyroscope.Model.MatchType;
using Pyroscope.Model.Query;

namespace Pyroscope.Model.Tests;

public class SelectorParserTests
{
    [Fact]
    public void Parses_profile_type_and_all_four_operators()
    {
        var parsed = SelectorParser.Parse("process_cpu:cpu:nanoseconds:cpu:nanoseconds{service_name=\"api\", env=~\"prod|staging\", pod!=\"x\", zone!~'eu-.*'}");

        Assert.Equal("process_cpu:cpu:nanoseconds:cpu:nanoseconds", parsed.ProfileType!.Id);
        var m = parsed.Matchers;
        Assert.Equal(5, m.Count);
        Assert.Equal((LabelNames.ProfileType, MatchType.Equal, "process_cpu:cpu:nanoseconds:cpu:nanoseconds"), (m[0].Name, m[0].Type, m[0].Value));
        Assert.Equal(("service_name", MatchType.Equal, "api"), (m[1].Name, m[1].Type, m[1].Value));
        Assert.Equal(("env", MatchType.Regex, "prod|staging"), (m[2].Name, m[2].Type, m[2].Value));
        Assert.Equal(("pod", MatchType.NotEqual, "x"), (m[3].Name, m[3].Type, m[3].Value));
        Assert.Equal(("zone", MatchType.NotRegex, "eu-.*"), (m[4].Name, m[4].Type, m[4].Value));
        Assert.True(m[2].Matches("staging"));
        Assert.False(m[2].Matches("prod2"));
    }

    [Theory]
    [InlineData("{}", 0)]
    [InlineData("  { }  ", 0)]
    [InlineData("", 0)]
    [InlineData("{a=\"1\",}", 1)]
    [InlineData("{a=\"1\" , b = `x\\y` }", 2)]
    public void Parses_bare_selectors(string text, int count)
    {
        var parsed = SelectorParser.Parse(text);
        Assert.Null(parsed.ProfileType);
        Assert.Equal(count, parsed.Matchers.Count);
    }

    [Fact]
    public void Decodes_escapes()
    {
        var m = SelectorParser.Parse("{a=\"q\\\"uote\\\\back\\nnl\\u00e9\\x41\"}").Matchers[0];
        Assert.Equal("q\"uote\\back\nnl\u00e9A", m.Value);
        var raw = SelectorParser.Parse("{a=`c:\\dir`}").Matchers[0];
        Assert.Equal("c:\\dir", raw.Value);
    }

    [Fact]
    public void Name_label_with_a_profile_type_becomes_the_profile_type()
    {
        var parsed = SelectorParser.Parse("{__name__=\"memory:inuse_space:bytes:space:bytes\", service_name=\"x\"}");
        Assert.Equal("memory:inuse_space:bytes:space:bytes", parsed.ProfileType!.Id);
        Assert.Equal(LabelNames.ProfileType, parsed.Matchers[0].Name);
        Assert.DoesNotContain(parsed.Matchers, m => m.Name == LabelNames.MetricName);
    }

    [Theory]
    [InlineData("{service_name=\"api\"", 19, "expected ',' or '}'")]
    [InlineData("{service_name=\"api}", 14, "unterminated string")]
    [InlineData("{1a=\"x\"}", 1, "expected a label name")]
    [InlineData("{a>\"x\"}", 2, "expected one of '=', '!=', '=~', '!~'")]
    [InlineData("{a=x}", 3, "expected a quoted string")]
    [InlineData("{a=\"x\"} extra", 8, "expected end of selector")]
    [InlineData("{a=\"\\q\"}", 4, "unknown escape sequence")]
    [InlineData("process_cpu{}", 0, "is not a profile type")]
    [InlineData("{a=~\"(\"}", 1, "invalid regular expression")]
    public void Reports_position_and_expectation(string text, int position, string expected)
    {
        var e = Assert.Throws<SelectorParseException>(() => SelectorParser.Parse(text));
        Assert.Equal(position, e.Position);
        Assert.Contains(expected, e.Message);
        Assert.Contains($"position {position + 1}", e.Message);
    }
}
