using Pyroscope.Contracts.Google.V1;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Model;
using Pyroscope.Model.Query;
using Pyroscope.Storage.Blocks;
using Pyroscope.Storage.ObjectStore;
using Pyroscope.Storage.Reading;
using Pyroscope.Testing;
using PprofLabel = Pyroscope.Contracts.Google.V1.Label;

namespace Pyroscope.Storage.Tests;

/// <summary>
/// Every stored profile keeps its id, time, series and its samples' span and trace ids, in the head, in a block and
/// through compaction, so single profiles, traces, spans and call sites can be selected. Expected values come from
/// decoding the fixture independently.
/// </summary>
public sealed class ProfileIdentityTests
{
    private static readonly long T0 = TestData.Start.ToUnixTimeMilliseconds();
    private static readonly TimeRange All = new(T0 - 3_600_000, T0 + 3_600_000);
    private static readonly LabelMatcher[] Service = [new(LabelNames.ServiceName, MatchType.Equal, "identity")];

    private const string TraceA = "4bf92f3577b34da6a3ce929d0e0e4736";
    private const string TraceB = "00000000000000000000000000000b0b";
    private const string SpanA = "00f067aa0ba902b7";
    private const string SpanB = "00000000000abc02";

    [Fact]
    public async Task Profiles_traces_spans_and_call_sites_select_the_same_samples_in_head_block_and_compacted_block()
    {
        using var storage = new TestStore(time: TestData.Clock());
        var first = TracedCpuProfile(T0, "7c9e6679-7425-40de-944b-e07fc1f90ae7");
        var second = TracedCpuProfile(T0 + 15_000, "0f8fad5b-d9cb-469f-a165-70867728950e");
        await storage.PushAsync("t", Fixtures.Push([first.Series]), CancellationToken.None);
        await storage.PushAsync("t", Fixtures.Push([second.Series]), CancellationToken.None);

        async Task Check(IProfileReader reader)
        {
            var everything = new SelectQuery(Service, All);
            Assert.Equal(first.Total + second.Total, (await TestData.MergeAsync(reader, "t", everything)).Values.Sum());

            // One profile by id: exactly its stacks; an unknown id selects nothing.
            Assert.Equal(first.Stacks, await TestData.MergeAsync(reader, "t", everything with { ProfileIds = Ids(first.Id) }));
            Assert.Empty(await TestData.MergeAsync(reader, "t", everything with { ProfileIds = Ids(Guid.NewGuid().ToString()) }));

            // A trace: its samples in both profiles; combined with a profile id, in that one only.
            Assert.Equal(first.ByTrace[TraceA] + second.ByTrace[TraceA], (await TestData.MergeAsync(reader, "t", everything with { TraceIds = Ids(TraceA) })).Values.Sum());
            Assert.Equal(first.ByTrace[TraceB], (await TestData.MergeAsync(reader, "t", everything with { TraceIds = Ids(TraceB), ProfileIds = Ids(first.Id) })).Values.Sum());

            // The pprof export applies the same selection.
            var merger = new PprofMerger();
            await reader.MergeProfileAsync("t", everything with { TraceIds = Ids(TraceA), ProfileIds = Ids(second.Id) }, merger, CancellationToken.None);
            Assert.Equal(second.ByTrace[TraceA], merger.ToProfile().Sample.Sum(s => s.Value[0]));

            // A call site: the totals of the stacks that start with it, per profile.
            var callSite = first.Stacks.Keys.First(k => k.Contains("crypto/sha256.block", StringComparison.Ordinal)).Split(';')[..4];
            var prefix = string.Join(';', callSite);
            var totals = await reader.ProfileTotalsAsync("t", everything with { CallSite = callSite }, CancellationToken.None);
            Assert.Equal([first.CallSiteTotal(prefix), second.CallSiteTotal(prefix)], totals.Select(t => t.Value));
            Assert.Equal([first.Id, second.Id], totals.Select(t => t.ProfileId));
            Assert.Equal(first.CallSiteTotal(prefix), (await TestData.MergeAsync(reader, "t", everything with { CallSite = callSite, ProfileIds = Ids(first.Id) })).Values.Sum());

            // Per span: one total per (profile, span, trace) of the samples that carry one.
            var perSpan = await reader.ProfileTotalsAsync("t", everything with { TotalsPerSpan = true }, CancellationToken.None);
            var expected = first.BySpanAndTrace.Select(kv => (first.Id, kv.Key.Span, kv.Key.Trace, kv.Value))
                .Concat(second.BySpanAndTrace.Select(kv => (second.Id, kv.Key.Span, kv.Key.Trace, kv.Value)))
                .OrderBy(e => e.Item1).ThenBy(e => e.Span).ThenBy(e => e.Trace).ToList();
            var actual = perSpan.Select(t => (t.ProfileId, TraceContextIds.FormatSpanId(t.SpanId), TraceContextIds.FormatTraceId(t.TraceId), t.Value))
                .OrderBy(e => e.ProfileId).ThenBy(e => e.Item2).ThenBy(e => e.Item3).ToList();
            Assert.Equal(expected, actual);
        }

        await Check(storage);
        await storage.FlushAsync();
        Assert.Single(storage.BlockIds);
        await Check(storage);

        // Compaction re-encodes the samples; trace and span ids survive it.
        var store = storage.Store;
        var meta = BlockMeta.Parse((await store.GetAsync($"t/{storage.BlockIds[0]}/meta.json", CancellationToken.None))!);
        var merged = await BlockMerger.MergeAsync(store, "t", [meta], Ulid.NewUlid(), CancellationToken.None);
        await merged.Block.WriteToAsync(store, CancellationToken.None);
        var compacted = new BlockStoreReader(new FileSystemObjectStore(((FileSystemObjectStore)store).Root));
        await Check(compacted);
    }

    [Fact]
    public async Task A_block_written_in_format_version_1_is_still_read_with_its_span_ids()
    {
        // Written by the storage code before trace ids were stored (tests/Pyroscope.Storage.Tests/OldBlocks, made from
        // go-cpu's cpu samples: every third with span 00000000000abc01, every third + 1 with 00000000000abc02).
        var reader = new BlockStoreReader(new FileSystemObjectStore(Path.Combine(RepositoryPaths.Root, "tests", "Pyroscope.Storage.Tests", "OldBlocks")));
        var input = Fixtures.Decode("go/go-cpu.pb.gz");
        long spanA = 0, all = 0;
        for (var i = 0; i < input.Sample.Count; i++)
        {
            all += input.Sample[i].Value[1];
            spanA += i % 3 == 0 ? input.Sample[i].Value[1] : 0;
        }
        var query = new SelectQuery([new LabelMatcher(LabelNames.ServiceName, MatchType.Equal, "v1-block")], All);

        Assert.Equal(Fixtures.ExpectedStacks(Fixtures.ToSeries(input, "v1-block", T0)[1].Profile), await TestData.MergeAsync(reader, "v1", query));
        Assert.Equal(spanA, (await TestData.MergeAsync(reader, "v1", query with { SpanIds = Ids("00000000000abc01") })).Values.Sum());
        Assert.Empty(await TestData.MergeAsync(reader, "v1", query with { TraceIds = Ids(TraceA) }));
        var total = Assert.Single(await reader.ProfileTotalsAsync("v1", query, CancellationToken.None));
        Assert.Equal(("0f8fad5b-d9cb-469f-a165-70867728950e", all), (total.ProfileId, total.Value));
        var spans = await reader.ProfileTotalsAsync("v1", query with { TotalsPerSpan = true }, CancellationToken.None);
        Assert.Equal(["00000000000abc01", "00000000000abc02"], spans.Select(s => TraceContextIds.FormatSpanId(s.SpanId)).Order());
        Assert.All(spans, s => Assert.Equal(UInt128.Zero, s.TraceId));
    }

    private static HashSet<string> Ids(params string[] ids) => new(ids, StringComparer.Ordinal);

    /// <summary>
    /// go-cpu's cpu samples with trace and span ids as an OpenTelemetry-instrumented program sends them: sample i gets
    /// trace A or B by i % 2 and span A, B or none by i % 3. What each selection must return is computed here.
    /// </summary>
    private static TracedProfile TracedCpuProfile(long timestampMs, string id)
    {
        var series = Fixtures.ToSeries(Fixtures.Decode("go/go-cpu.pb.gz"), "identity", timestampMs)[1];
        series.Id = id;
        var profile = series.Profile;
        var stacks = Fixtures.ExpectedStacks(profile);
        long Str(string s)
        {
            profile.StringTable.Add(s);
            return profile.StringTable.Count - 1;
        }
        var (traceKey, spanKey) = (Str(TraceContextIds.TraceIdLabel), Str(LabelNames.SpanId));
        var traces = new[] { (TraceA, Str(TraceA)), (TraceB, Str(TraceB)) };
        var spans = new[] { (SpanA, Str(SpanA)), (SpanB, Str(SpanB)) };
        var byTrace = new Dictionary<string, long> { [TraceA] = 0, [TraceB] = 0 };
        var bySpanAndTrace = new Dictionary<(string Span, string Trace), long>();
        for (var i = 0; i < profile.Sample.Count; i++)
        {
            var sample = profile.Sample[i];
            var (trace, traceStr) = traces[i % 2];
            sample.Label.Add(new PprofLabel { Key = traceKey, Str = traceStr });
            var span = "";
            if (i % 3 < 2)
            {
                (span, var spanStr) = spans[i % 3];
                sample.Label.Add(new PprofLabel { Key = spanKey, Str = spanStr });
            }
            byTrace[trace] += sample.Value[0];
            if (sample.Value[0] != 0 && sample.LocationId.Count > 0)
            {
                bySpanAndTrace[(span, trace)] = bySpanAndTrace.GetValueOrDefault((span, trace)) + sample.Value[0];
            }
        }
        return new TracedProfile(series, id, stacks, stacks.Values.Sum(), byTrace, bySpanAndTrace);
    }

    private sealed record TracedProfile(
        ProfileSeries Series, string Id, Dictionary<string, long> Stacks, long Total,
        Dictionary<string, long> ByTrace, Dictionary<(string Span, string Trace), long> BySpanAndTrace)
    {
        public long CallSiteTotal(string prefix) =>
            Stacks.Where(kv => kv.Key == prefix || kv.Key.StartsWith(prefix + ";", StringComparison.Ordinal)).Sum(kv => kv.Value);
    }
}
