using Pyroscope.Model;
using Pyroscope.Model.Query;
using PprofLabel = Pyroscope.Contracts.Google.V1.Label;

namespace Pyroscope.Storage.Tests;

public sealed class SpanTests
{
    private static readonly long T0 = TestData.Start.ToUnixTimeMilliseconds();
    private static readonly TimeRange All = new(T0 - 3_600_000, T0 + 3_600_000);

    [Fact]
    public async Task Span_filter_selects_only_samples_of_the_given_spans_in_head_and_block()
    {
        using var storage = new TestStore(time: TestData.Clock());
        var series = Fixtures.ToSeries(Fixtures.Decode("go/go-cpu.pb.gz"), "spans", T0)[1];
        var profile = series.Profile;
        profile.StringTable.Add("span_id");
        var key = profile.StringTable.Count - 1;
        profile.StringTable.Add("00000000000abc01");
        var spanA = profile.StringTable.Count - 1;
        profile.StringTable.Add("00000000000abc02");
        var spanB = profile.StringTable.Count - 1;
        long expectedA = 0, expectedAll = 0;
        for (var i = 0; i < profile.Sample.Count; i++)
        {
            var sample = profile.Sample[i];
            expectedAll += sample.Value[0];
            if (i % 3 == 0)
            {
                sample.Label.Add(new PprofLabel { Key = key, Str = spanA });
                expectedA += sample.Value[0];
            }
            else if (i % 3 == 1)
            {
                sample.Label.Add(new PprofLabel { Key = key, Str = spanB });
            }
        }
        await storage.PushAsync("t", Fixtures.Push([series]), CancellationToken.None);
        var matchers = new[] { new LabelMatcher(LabelNames.ServiceName, MatchType.Equal, "spans") };
        var onlyA = new SelectQuery(matchers, All) { SpanIds = new HashSet<string> { "00000000000abc01" } };
        var reader = storage;

        async Task Check()
        {
            Assert.Equal(expectedA, (await TestData.MergeAsync(reader, "t", onlyA)).Values.Sum());
            Assert.Equal(expectedAll, (await TestData.MergeAsync(reader, "t", new SelectQuery(matchers, All))).Values.Sum());
            Assert.Empty(await TestData.MergeAsync(reader, "t", onlyA with { SpanIds = new HashSet<string> { "ffff" } }));
            // The symbolised export applies the same filter.
            var merger = new PprofMerger();
            await reader.MergeProfileAsync("t", onlyA, merger, CancellationToken.None);
            Assert.Equal(expectedA, merger.ToProfile().Sample.Sum(s => s.Value[0]));
        }

        await Check();
        await storage.FlushAsync();
        Assert.Single(storage.BlockIds);
        await Check();
    }
}
