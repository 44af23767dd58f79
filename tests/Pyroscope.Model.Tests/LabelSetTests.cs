using Pyroscope.Model;

namespace Pyroscope.Model.Tests;

public class LabelSetTests
{
    [Fact]
    public void Order_of_input_does_not_change_identity()
    {
        var a = LabelSet.From(new Label("b", "2"), new Label("a", "1"));
        var b = LabelSet.From(new Label("a", "1"), new Label("b", "2"));
        Assert.Equal(a, b);
        Assert.Equal(a.Fingerprint, b.Fingerprint);
        Assert.Equal("{a=\"1\", b=\"2\"}", a.ToString());
    }

    [Fact]
    public void Fingerprint_separates_name_and_value_boundaries()
    {
        var a = LabelSet.From(new Label("a", "bc"));
        var b = LabelSet.From(new Label("ab", "c"));
        Assert.NotEqual(a.Fingerprint, b.Fingerprint);
    }

    [Fact]
    public void Get_finds_by_binary_search_and_absent_is_null()
    {
        var set = LabelSet.From(new Label("service_name", "api"), new Label("env", "prod"), new Label("__name__", "process_cpu"));
        Assert.Equal("api", set.Get("service_name"));
        Assert.Equal("process_cpu", set.Get("__name__"));
        Assert.Null(set.Get("pod"));
        Assert.Null(set.Without("env").Get("env"));
        Assert.Equal("x", set.With("env", "x").Get("env"));
    }

    [Theory]
    [InlineData("process_cpu:cpu:nanoseconds:cpu:nanoseconds", true)]
    [InlineData("memory:inuse_space:bytes:space:bytes", true)]
    [InlineData("process_cpu:cpu", false)]
    [InlineData("a::b:c:d", false)]
    [InlineData("samples:samples:count::milliseconds", true)]
    public void Profile_type_ids_parse_only_when_complete(string id, bool ok)
    {
        Assert.Equal(ok, ProfileTypeId.TryParse(id, out var type));
        if (ok)
        {
            Assert.Equal(id, type!.Id);
        }
    }

    [Fact]
    public void Matchers_follow_prometheus_semantics()
    {
        var set = LabelSet.From(new Label("env", "prod"));
        Assert.True(new LabelMatcher("env", MatchType.Regex, "prod|staging").Matches(set));
        Assert.False(new LabelMatcher("env", MatchType.Regex, "pro").Matches(set));
        Assert.True(new LabelMatcher("pod", MatchType.Equal, "").Matches(set));
        Assert.True(new LabelMatcher("pod", MatchType.NotEqual, "x").Matches(set));
        Assert.False(new LabelMatcher("env", MatchType.NotRegex, "p.*").Matches(set));
    }
}
