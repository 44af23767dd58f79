using Microsoft.Extensions.Configuration;

namespace Pyroscope.Compactor.Tests;

/// <summary>The compactor's settings under upstream's keys (flags, YAML and environment all land here).</summary>
public class CompactorOptionsTests
{
    private static CompactorOptions From(params (string Key, string Value)[] settings) =>
        CompactorOptions.From(new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
            .Build());

    [Fact]
    public void Consistency_delay_sets_how_old_a_block_must_be_before_it_is_compacted()
    {
        Assert.Equal(TimeSpan.FromMinutes(5), From().MinBlockAge);
        Assert.Equal(TimeSpan.FromSeconds(90), From(("compactor:consistency_delay", "90s")).MinBlockAge);
        Assert.Equal(TimeSpan.Zero, From(("compactor:consistency_delay", "0s")).MinBlockAge);
    }

    [Fact]
    public void Interval_and_window_are_read_with_go_durations()
    {
        var options = From(("compactor:compaction_interval", "2s"), ("compactor:compaction_window", "1h"));
        Assert.Equal(TimeSpan.FromSeconds(2), options.Interval);
        Assert.Equal(TimeSpan.FromHours(1), options.CompactionWindow);
    }

    [Fact]
    public void A_malformed_consistency_delay_names_the_key()
    {
        var error = Assert.Throws<FormatException>(() => From(("compactor:consistency_delay", "soon")));
        Assert.Contains("compactor.consistency_delay", error.Message);
    }
}
