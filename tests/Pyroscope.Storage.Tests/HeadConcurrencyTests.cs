using Google.Protobuf;
using Pyroscope.Contracts.Google.V1;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Contracts.Types.V1;
using Pyroscope.Model;
using Pyroscope.Model.Query;
using Pyroscope.Storage.Head;
using Pyroscope.Storage.Query;
using Pyroscope.Storage.Reading;

namespace Pyroscope.Storage.Tests;

/// <summary>
/// Head queries walk stacks and name frames without the head's lock (on a symbol snapshot), while other
/// threads keep appending. Every profile variant renames its functions, so strings, functions, locations
/// and stack nodes keep growing (and their arrays keep being reallocated) while queries read them.
/// </summary>
public sealed class HeadConcurrencyTests
{
    private const int Writers = 3;
    private const int ProfilesPerWriter = 40;
    private const int Readers = 2;
    private const int MinQueriesPerReader = 4;
    private const int AppendsPerQuery = 2;
    private static readonly long T0 = TestData.Start.ToUnixTimeMilliseconds();
    private static readonly LabelSet Labels = LabelSet.From(
    [
        new Label(LabelNames.ServiceName, "stress"),
        new Label(LabelNames.ProfileType, "process_cpu:cpu:nanoseconds:cpu:nanoseconds"),
        new Label(LabelNames.MetricName, "process_cpu"),
    ]);

    [Fact]
    public async Task Queries_during_concurrent_appends_see_only_whole_stacks_and_the_last_query_is_exact()
    {
        var templates = new[] { ("go/go-cpu.pb.gz", 1), ("go/go-heap.pb.gz", 1), ("nodejs/nodejs-001.pb.gz", 0), ("nodejs/nodejs-002.pb.gz", 0) }
            .Select(t => Fixtures.ToSeries(Fixtures.Decode(t.Item1), "stress", T0)[t.Item2].Profile)
            .ToArray();
        var variants = new Dictionary<(int Template, int Variant), (Profile Profile, Dictionary<string, long> Expected)>();
        var plan = new (ProfileSeries Series, Dictionary<string, long> Expected)[Writers][];
        for (var w = 0; w < Writers; w++)
        {
            plan[w] = new (ProfileSeries, Dictionary<string, long>)[ProfilesPerWriter];
            for (var k = 0; k < ProfilesPerWriter; k++)
            {
                // New function names every few profiles: the symbol table grows for the whole run.
                var key = ((w + k) % templates.Length, k / 4);
                if (!variants.TryGetValue(key, out var variant))
                {
                    var profile = Renamed(templates[key.Item1], "@" + key.Item2);
                    variant = (profile, Fixtures.ExpectedStacks(profile));
                    variants.Add(key, variant);
                }
                plan[w][k] = (SeriesOf(variant.Profile, $"w{w}-p{k}", T0 + k * 1000L), variant.Expected);
            }
        }
        var final = new Dictionary<string, long>();
        foreach (var (_, expected) in plan.SelectMany(p => p))
        {
            foreach (var (stack, value) in expected)
            {
                final[stack] = final.GetValueOrDefault(stack) + value;
            }
        }
        var prefixTotals = PrefixTotals(plan);

        var head = new TenantHead("tenant-a", Ulid.NewUlid());
        var query = TestData.QueryFor(Labels, new TimeRange(T0 - 60_000, T0 + 3_600_000));
        using var start = new Barrier(Writers + Readers);
        var writersLeft = Writers;
        var queries = new QueryProgress();
        var writers = Enumerable.Range(0, Writers).Select(w => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            for (var k = 0; k < plan[w].Length; k++)
            {
                // Pace by query progress (not by time) so appends and queries overlap for the whole run.
                if (k % AppendsPerQuery == 0)
                {
                    queries.WaitForMore(k / AppendsPerQuery);
                }
                Assert.True(head.Append(plan[w][k].Series, 0));
            }
            Interlocked.Decrement(ref writersLeft);
        }, TaskCreationOptions.LongRunning)).ToArray();
        var readers = Enumerable.Range(0, Readers).Select(r => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            long lastStacksTotal = 0, lastPprofTotal = 0;
            using var done = queries.ReleaseWritersOnExit();
            for (var i = 0; Volatile.Read(ref writersLeft) > 0 || i < MinQueriesPerReader; i++)
            {
                lastStacksTotal = AssertConsistent(MergeStacks(head, query), final, prefixTotals, lastStacksTotal);
                var pprofTotal = PprofTotal(head, query);
                Assert.True(pprofTotal >= lastPprofTotal, $"pprof total went down from {lastPprofTotal} to {pprofTotal}");
                Assert.True(prefixTotals.Contains(pprofTotal), $"pprof total {pprofTotal} is not the sum of whole profiles appended in order");
                lastPprofTotal = pprofTotal;
                queries.Completed();
            }
        }, TaskCreationOptions.LongRunning)).ToArray();
        await Task.WhenAll(writers.Concat(readers)).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);

        Assert.Equal(Writers * ProfilesPerWriter, head.ProfileCount);
        Assert.Equal(final, MergeStacks(head, query));
        Assert.Equal(final, MergePprof(head, query));
    }

    /// <summary>The symbolised export's total; building the profile also checks every sample's locations and functions resolve.</summary>
    private static long PprofTotal(TenantHead head, SelectQuery query)
    {
        var merger = new PprofMerger();
        new HeadSource(head).MergeProfileAsync(query, SampleFilter.None, null, merger, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        long total = 0;
        foreach (var sample in merger.ToProfile().Sample)
        {
            total += sample.Value[0];
        }
        return total;
    }

    [Fact]
    public void Emitting_after_the_lock_gives_the_same_bytes_as_emitting_under_it()
    {
        var head = new TenantHead("tenant-a", Ulid.NewUlid());
        var fixtures = TestData.AllFixtureSeries(T0);
        foreach (var f in fixtures)
        {
            Assert.True(head.Append(f.Series, 0));
        }
        var range = new TimeRange(T0 - 60_000, T0 + 60_000);
        foreach (var f in fixtures)
        {
            var query = TestData.QueryFor(f.Labels, range);
            var shortLock = Export(new HeadSource(head), query);
            var wholeQuery = Export(new HeadSource(head, emitUnderLock: true), query);
            Assert.Equal(wholeQuery.Stacks, shortLock.Stacks);
            Assert.Equal(f.Expected, shortLock.Stacks);
            Assert.Equal(wholeQuery.Pprof, shortLock.Pprof);
        }
    }

    private static (Dictionary<string, long> Stacks, byte[] Pprof) Export(HeadSource source, SelectQuery query)
    {
        var sink = new CollectingSink();
        source.MergeStacksAsync(query, SampleFilter.None, null, sink, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        var merger = new PprofMerger();
        source.MergeProfileAsync(query, SampleFilter.None, null, merger, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        return (sink.Stacks, merger.ToProfile().ToByteArray());
    }

    /// <summary>
    /// Every stack must be one that was appended and never exceed its final value; the total must be that of
    /// whole profiles, some prefix of each writer's sequence (appends of one writer are ordered); totals only grow.
    /// </summary>
    private static long AssertConsistent(Dictionary<string, long> seen, Dictionary<string, long> final, HashSet<long> prefixTotals, long previousTotal)
    {
        long total = 0;
        foreach (var (stack, value) in seen)
        {
            Assert.True(final.TryGetValue(stack, out var max), $"stack never appended: {stack}");
            Assert.InRange(value, 1, max);
            total += value;
        }
        Assert.True(total >= previousTotal, $"total went down from {previousTotal} to {total}");
        Assert.True(prefixTotals.Contains(total), $"total {total} is not the sum of whole profiles appended in order");
        return total;
    }

    /// <summary>Totals of every combination of per-writer prefixes.</summary>
    private static HashSet<long> PrefixTotals((ProfileSeries Series, Dictionary<string, long> Expected)[][] plan)
    {
        var totals = new HashSet<long> { 0 };
        foreach (var writer in plan)
        {
            var next = new HashSet<long>();
            foreach (var before in totals)
            {
                var sum = before;
                next.Add(sum);
                foreach (var (_, expected) in writer)
                {
                    sum += expected.Values.Sum();
                    next.Add(sum);
                }
            }
            totals = next;
        }
        return totals;
    }

    private static Dictionary<string, long> MergeStacks(TenantHead head, SelectQuery query)
    {
        var sink = new CollectingSink();
        new HeadSource(head).MergeStacksAsync(query, SampleFilter.None, null, sink, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        return sink.Stacks;
    }

    private static Dictionary<string, long> MergePprof(TenantHead head, SelectQuery query)
    {
        var merger = new PprofMerger();
        new HeadSource(head).MergeProfileAsync(query, SampleFilter.None, null, merger, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        return merger.SampleCount == 0 ? [] : Fixtures.ExpectedStacks(merger.ToProfile());
    }

    private static Profile Renamed(Profile template, string suffix)
    {
        var profile = template.Clone();
        var names = new HashSet<long>(profile.Function.Select(f => f.Name));
        foreach (var index in names.Where(i => i > 0))
        {
            profile.StringTable[(int)index] += suffix;
        }
        return profile;
    }

    private static ProfileSeries SeriesOf(Profile profile, string id, long timestampMs)
    {
        var copy = profile.Clone();
        copy.TimeNanos = timestampMs * 1_000_000;
        var series = new ProfileSeries { Profile = copy, Id = id };
        foreach (var label in Labels.Labels)
        {
            series.Labels.Add(new LabelPair { Name = label.Name, Value = label.Value });
        }
        return series;
    }

    /// <summary>Counts finished queries; writers wait on it. A reader that stops (or fails) releases every writer.</summary>
    private sealed class QueryProgress
    {
        private int _count;
        private bool _released;

        public void Completed()
        {
            lock (this)
            {
                _count++;
                Monitor.PulseAll(this);
            }
        }

        public void WaitForMore(int atLeast)
        {
            lock (this)
            {
                while (_count < atLeast && !_released)
                {
                    Monitor.Wait(this);
                }
            }
        }

        public IDisposable ReleaseWritersOnExit() => new Release(this);

        private sealed class Release(QueryProgress progress) : IDisposable
        {
            public void Dispose()
            {
                lock (progress)
                {
                    progress._released = true;
                    Monitor.PulseAll(progress);
                }
            }
        }
    }
}
