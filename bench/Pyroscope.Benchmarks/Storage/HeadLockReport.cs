using System.Diagnostics;
using Pyroscope.Contracts.Google.V1;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Model;
using Pyroscope.Model.Query;
using Pyroscope.Storage.Head;
using Pyroscope.Storage.Query;
using Pyroscope.Storage.Reading;

namespace Pyroscope.Benchmarks.Storage;

/// <summary>
/// <c>dotnet run -c Release --project bench/Pyroscope.Benchmarks -- head-lock</c>: latency of appending one
/// go-cpu profile to a head while another thread runs flame-graph queries on it back to back, with the read
/// lock held for the whole query (the old behaviour, kept as a HeadSource option for this comparison) and
/// held only while summing per stack (now). Also query time alone in both modes, to show it did not regress.
/// </summary>
public static class HeadLockReport
{
    private const int HeadProfiles = 240;
    private const int Variants = 60;
    private const int TimedAppends = 400;
    private const long T0 = 1_700_000_000_000;

    public static void Run()
    {
        var template = StorageBenchData.GoCpuSeries("x", T0);
        var variants = new ProfileSeries[Variants];
        for (var v = 0; v < Variants; v++)
        {
            variants[v] = Renamed(template, "@" + v);
        }
        var query = new SelectQuery([new LabelMatcher(LabelNames.ServiceName, Model.MatchType.Equal, "bench")], new TimeRange(T0 - 60_000, T0 + 86_400_000));
        Console.WriteLine($"head: {HeadProfiles} go-cpu profiles in {Variants} renamed variants (an hour of many services' distinct stacks); query: flame graph (8192 nodes) or pprof export of all of it");
        // Modes alternate over rounds so JIT warm-up and neighbours' load do not favour one of them.
        for (var round = 1; round <= 3; round++)
        {
            Console.WriteLine($"round {round}");
            foreach (var pprof in new[] { false, true })
            {
                foreach (var wholeQuery in round % 2 == 1 ? new[] { true, false } : new[] { false, true })
                {
                    Measure(variants, template, query, wholeQuery, pprof);
                }
            }
        }
    }

    private static void Measure(ProfileSeries[] variants, ProfileSeries template, SelectQuery query, bool wholeQuery, bool pprof)
    {
        {
            var head = Fill(variants);
            var alone = QueryTimes(head, query, wholeQuery, pprof, 20);
            var (appends, during) = AppendsUnderQueryLoad(head, query, wholeQuery, pprof, template);
            Console.WriteLine($"{(pprof ? "pprof export" : "flame graph ")} {(wholeQuery ? "lock for whole query  " : "lock only while summing")}: " +
                $"nodes {head.Tables.Symbols.NodeCount}, query alone median {Median(alone):F2} ms; under appends median {Median(during):F2} ms ({during.Count} queries); " +
                $"append while querying: mean {appends.Average():F3} ms, p50 {Percentile(appends, 0.5):F3}, p99 {Percentile(appends, 0.99):F3}, max {appends.Max():F3} ms");
        }
    }

    private static TenantHead Fill(ProfileSeries[] variants)
    {
        var head = new TenantHead("bench", Ulid.NewUlid());
        for (var i = 0; i < HeadProfiles; i++)
        {
            var s = variants[i % variants.Length].Clone();
            s.Id = "h" + i;
            s.Profile.TimeNanos = (T0 + i * 15_000L) * 1_000_000;
            head.Append(s, 0);
        }
        return head;
    }

    private static List<double> QueryTimes(TenantHead head, SelectQuery query, bool wholeQuery, bool pprof, int count)
    {
        var times = new List<double>();
        const int warmUp = 5;
        for (var i = 0; i < count + warmUp; i++)
        {
            var started = Stopwatch.GetTimestamp();
            RunQuery(head, query, wholeQuery, pprof);
            if (i >= warmUp)
            {
                times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }
        return times;
    }

    private static (List<double> Appends, List<double> Queries) AppendsUnderQueryLoad(TenantHead head, SelectQuery query, bool wholeQuery, bool pprof, ProfileSeries template)
    {
        var series = new ProfileSeries[TimedAppends];
        for (var i = 0; i < series.Length; i++)
        {
            series[i] = template.Clone();
            series[i].Id = "a" + i;
            series[i].Profile.TimeNanos = (T0 + (HeadProfiles + i) * 15_000L) * 1_000_000;
        }
        var stop = 0;
        var queryTimes = new List<double>();
        var querier = new Thread(() =>
        {
            while (Volatile.Read(ref stop) == 0)
            {
                var started = Stopwatch.GetTimestamp();
                RunQuery(head, query, wholeQuery, pprof);
                queryTimes.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        });
        querier.Start();
        var appends = new List<double>(TimedAppends);
        foreach (var s in series)
        {
            var started = Stopwatch.GetTimestamp();
            head.Append(s, 0);
            appends.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            // Pushes arrive spread out (about one per millisecond here), not back to back, so the timed
            // appends span many queries and see the lock in whatever phase the query is in.
            Thread.Sleep(1);
        }
        Volatile.Write(ref stop, 1);
        querier.Join();
        return (appends, queryTimes);
    }

    private static int RunQuery(TenantHead head, SelectQuery query, bool wholeQuery, bool pprof)
    {
        if (pprof)
        {
            var merger = new PprofMerger();
            new HeadSource(head, emitUnderLock: wholeQuery).MergeProfileAsync(query, SampleFilter.None, null, merger, CancellationToken.None).AsTask().GetAwaiter().GetResult();
            return merger.ToProfile().Sample.Count;
        }
        var tree = new StackTree();
        new HeadSource(head, emitUnderLock: wholeQuery).MergeStacksAsync(query, SampleFilter.None, null, tree, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        return FlameGraphData.From(tree, 8192).Names.Count;
    }

    private static ProfileSeries Renamed(ProfileSeries template, string suffix)
    {
        var s = template.Clone();
        var names = new HashSet<long>();
        foreach (Function f in s.Profile.Function)
        {
            names.Add(f.Name);
        }
        foreach (var index in names)
        {
            if (index > 0)
            {
                s.Profile.StringTable[(int)index] += suffix;
            }
        }
        return s;
    }

    private static double Median(List<double> values) => Percentile(values, 0.5);

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.ToArray();
        Array.Sort(sorted);
        return sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
    }
}
