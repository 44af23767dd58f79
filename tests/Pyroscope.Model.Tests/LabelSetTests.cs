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
    public void Fingerprint_is_the_xxhash64_of_names_and_values_with_separators_so_stored_series_keep_theirs()
    {
        var set = LabelSet.From(new Label("service_name", "api"), new Label("__name__", "process_cpu"));
        // The definition blocks and WAL records were written with: each name and value as UTF-16 bytes, then 0xff 0xfe.
        var hash = new System.IO.Hashing.XxHash64();
        foreach (var text in new[] { "__name__", "process_cpu", "service_name", "api" })
        {
            hash.Append(System.Runtime.InteropServices.MemoryMarshal.AsBytes(text.AsSpan()));
            hash.Append([0xff, 0xfe]);
        }
        Assert.Equal(hash.GetCurrentHashAsUInt64(), set.Fingerprint);
        // Longer than the stack buffer: the same definition.
        var longValue = new string('v', 2000);
        var large = LabelSet.From(new Label("k", longValue));
        var expected = new System.IO.Hashing.XxHash64();
        expected.Append(System.Runtime.InteropServices.MemoryMarshal.AsBytes("k".AsSpan()));
        expected.Append([0xff, 0xfe]);
        expected.Append(System.Runtime.InteropServices.MemoryMarshal.AsBytes(longValue.AsSpan()));
        expected.Append([0xff, 0xfe]);
        Assert.Equal(expected.GetCurrentHashAsUInt64(), large.Fingerprint);
    }

    [Theory]
    [InlineData(5)]
    [InlineData(300)]
    public void A_later_duplicate_name_overrides_an_earlier_one_and_names_come_out_sorted(int names)
    {
        var input = new List<Label>();
        for (var i = names - 1; i >= 0; i--)
        {
            input.Add(new Label($"n{i:D3}", "first"));
        }
        input.Add(new Label("n000", "second"));
        input.Add(new Label($"n{names - 1:D3}", "second"));

        var set = LabelSet.From(input);
        Assert.Equal(names, set.Count);
        Assert.Equal("second", set.Get("n000"));
        Assert.Equal("second", set.Get($"n{names - 1:D3}"));
        Assert.Equal(names > 2 ? "first" : "second", set.Get("n001"));
        for (var i = 1; i < set.Count; i++)
        {
            Assert.True(string.CompareOrdinal(set[i - 1].Name, set[i].Name) < 0);
        }
        Assert.Equal(set, LabelSet.From(input.AsEnumerable().Reverse().Reverse()));
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
