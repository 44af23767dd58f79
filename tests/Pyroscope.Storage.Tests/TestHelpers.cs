using Microsoft.Extensions.Time.Testing;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Model;

namespace Pyroscope.Storage.Tests;

public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "pyro-storage-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>A loaded fixture series with the stacks the engine must return for it.</summary>
public sealed record FixtureSeries(string File, ProfileSeries Series, LabelSet Labels, Dictionary<string, long> Expected, long Total);

public static class TestData
{
    public static readonly DateTimeOffset Start = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    public static FakeTimeProvider Clock() => new(Start);

    /// <summary>An hour either side of <see cref="Start"/>: every profile a test pushes at its start.</summary>
    public static TimeRange AroundStart => new(Start.ToUnixTimeMilliseconds() - 3_600_000, Start.ToUnixTimeMilliseconds() + 3_600_000);

    /// <summary>Every pprof fixture, one service each, every sample type as its own series.</summary>
    public static List<FixtureSeries> AllFixtureSeries(long timestampMs)
    {
        var result = new List<FixtureSeries>();
        foreach (var file in Fixtures.PprofFiles)
        {
            var profile = Fixtures.Decode(file);
            var service = "svc-" + System.IO.Path.GetFileName(file).Replace('.', '-');
            foreach (var series in Fixtures.ToSeries(profile, service, timestampMs))
            {
                var labels = LabelSet.From(series.Labels.Select(l => new Label(l.Name, l.Value)));
                var expected = Fixtures.ExpectedStacks(series.Profile);
                result.Add(new FixtureSeries(file, series, labels, expected, expected.Values.Sum()));
            }
        }
        return result;
    }

    public static SelectQuery QueryFor(LabelSet labels, TimeRange range) =>
        new([new LabelMatcher(LabelNames.ServiceName, MatchType.Equal, labels.Get(LabelNames.ServiceName)!),
             new LabelMatcher(LabelNames.ProfileType, MatchType.Equal, labels.Get(LabelNames.ProfileType)!)], range);

    public static async Task<Dictionary<string, long>> MergeAsync(IProfileReader reader, string tenant, SelectQuery query)
    {
        var sink = new CollectingSink();
        await reader.MergeStacksAsync(tenant, query, sink, CancellationToken.None);
        return sink.Stacks;
    }

    public static async Task AssertAllExactAsync(IProfileReader reader, string tenant, IEnumerable<FixtureSeries> fixtures, TimeRange range, int copies = 1)
    {
        foreach (var f in fixtures)
        {
            var actual = await MergeAsync(reader, tenant, QueryFor(f.Labels, range));
            var expected = f.Expected.ToDictionary(kv => kv.Key, kv => kv.Value * copies);
            Assert.True(expected.Count == actual.Count, $"{f.File} {f.Labels}: expected {expected.Count} stacks, got {actual.Count}");
            foreach (var (stack, value) in expected)
            {
                Assert.True(actual.TryGetValue(stack, out var got) && got == value, $"{f.File}: stack {stack} expected {value}, got {got}");
            }
        }
    }
}
