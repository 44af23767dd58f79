namespace Pyroscope.Model.Tests;

/// <summary>The one duration grammar of flags and configuration.</summary>
public class DurationTextTests
{
    [Theory]
    [InlineData("30s", 30_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("1h30m", 5_400_000)]
    [InlineData("1.5h", 5_400_000)]
    [InlineData("1h2m3.5s", 3_723_500)]
    [InlineData("7d", 604_800_000)]
    [InlineData("2w", 1_209_600_000)]
    [InlineData("250ms", 250)]
    [InlineData("10us", 0.01)]
    [InlineData("0", 0)]
    [InlineData("00:00:07", 7_000)]
    public void Parses_prometheus_go_and_dotnet_styles(string text, double ms)
    {
        Assert.True(DurationText.TryParse(text, out var value));
        Assert.Equal(ms, value.TotalMilliseconds, 3);
    }

    [Theory]
    [InlineData("5")]
    [InlineData("5 sec")]
    [InlineData("s")]
    [InlineData("soon")]
    [InlineData("")]
    public void Refuses_what_is_not_a_duration(string text) => Assert.False(DurationText.TryParse(text, out _));

    [Fact]
    public void A_bad_value_names_the_setting()
    {
        var e = Assert.Throws<FormatException>(() => DurationText.Parse("soon", "limits.reject_older_than"));
        Assert.Contains("limits.reject_older_than", e.Message);
    }

    [Theory]
    [InlineData("1h")]
    [InlineData("7d")]
    [InlineData("1d2h3m4s")]
    [InlineData("0s")]
    public void Formats_what_it_parses(string text)
    {
        Assert.True(DurationText.TryParse(text, out var value));
        Assert.Equal(text, DurationText.Format(value));
    }
}
