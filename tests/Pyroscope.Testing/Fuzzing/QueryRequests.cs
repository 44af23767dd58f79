using Google.Protobuf;
using Pyroscope.Contracts.Querier.V1;
using TypesV1 = Pyroscope.Contracts.Types.V1;

namespace Pyroscope.Testing.Fuzzing;

/// <summary>
/// Generated querier.v1 requests: times at the edges of int64 and of the calendar, selectors from a small
/// grammar plus pathological regular expressions and garbage, profile types valid and broken, steps, limits
/// and node counts at their edges. About half the requests are well-formed around <see cref="AroundMs"/>, where
/// the seeded data lies, so the query paths run; in the others each field goes wild with some probability.
/// </summary>
public sealed class QueryRequests(long aroundMs)
{
    public long AroundMs { get; } = aroundMs;

    public static readonly string[] Methods =
    [
        "ProfileTypes", "LabelValues", "LabelNames", "Series", "SelectMergeStacktraces", "SelectMergeSpanProfile",
        "SelectMergeProfile", "SelectSeries", "SelectHeatmap", "Diff", "GetProfileStats", "AnalyzeQuery",
    ];

    private static readonly string[] BadIds = ["", "0", "xyz", "7c9e6679", "{7c9e6679-7425-40de-944b-e07fc1f90ae7", new string('a', 5000), "00000000000000000000000000000000", "\u0000"];

    private static readonly string[] ProfileTypes =
    [
        "process_cpu:cpu:nanoseconds:cpu:nanoseconds", "process_cpu:samples:count:cpu:nanoseconds", "memory:alloc_space:bytes::",
        "wall:wall:nanoseconds:wall:nanoseconds", "", ":", "::::", "a:b:c:d:e:f", "process_cpu:cpu:nanoseconds:cpu", "{}", "\u0000:\u0000:::",
    ];

    private static readonly string[] ValidProfileTypes = ["process_cpu:cpu:nanoseconds:cpu:nanoseconds", "process_cpu:samples:count:cpu:nanoseconds"];

    private static readonly string[] ValidNames = ["service_name", "env", "handler", "span_id"];

    // Linear-time-matchable, so valid; some of them catastrophic for a backtracking engine.
    private static readonly string[] ValidRegexes = ["(a+)+b", "(a|aa)+$", "(.*a){20}", ".*", "go-app|probe", "(?i)GO.*", "\\p{L}+", ".*.*.*.*.*.*.*="];

    private static readonly string[] Names = ["service_name", "env", "handler", "__name__", "__profile_type__", "span_id", "x", "", "0bad", "é", "a\"b"];

    private static readonly string[] Values = ["go-app", "probe", "hash", "", ".*", "prod|staging", "\\", "\"", new string('v', 3000)];

    private static readonly string[] Regexes =
    [
        "(a+)+b", "(a|aa)+$", "(.*a){20}", "a{1000}{1000}", "[", "(?<x>a)\\k<x>", "(?=a)", "\\p{L}+", "(?i)GO.*", ".*.*.*.*.*.*.*=", "[^\\x00-\\x7f]+",
        "x{2147483647}", "((((((((((a))))))))))*", "", ".", "go-app|probe",
    ];

    private static readonly string[] Garbage = ["{", "}", "{service_name=}", "{=\"x\"}", "{a!~}", "{a=\"x\",,}", "process_cpu", "\u0000", "{a=`x`}", "{a=\"\\u12\"}", "{a=~\"x\"} extra"];

    public IMessage Create(string method, Random random)
    {
        _wildness = random.Next(2) == 0 ? 0 : 3;
        return CreateMessage(method, random);
    }

    /// <summary>0: well-formed request; n: each field goes wild with probability 1/n.</summary>
    private int _wildness;

    private bool Wild(Random random) => _wildness > 0 && random.Next(_wildness) == 0;

    private IMessage CreateMessage(string method, Random random) => method switch
    {
        "ProfileTypes" => new ProfileTypesRequest { Start = Start(random), End = End(random) },
        "LabelValues" => Fill(new TypesV1.LabelValuesRequest { Name = Wild(random) ? Pick(Names, random) : Pick(ValidNames, random), Start = Start(random), End = End(random) }, r => r.Matchers, random),
        "LabelNames" => Fill(new TypesV1.LabelNamesRequest { Start = Start(random), End = End(random) }, r => r.Matchers, random),
        "Series" => Series(random),
        "SelectMergeStacktraces" => MergeStacktraces(random),
        "SelectMergeSpanProfile" => SpanProfile(random),
        "SelectMergeProfile" => MergeProfile(random),
        "SelectSeries" => SelectSeries(random),
        "SelectHeatmap" => SelectHeatmap(random),
        "Diff" => new DiffRequest { Left = random.Next(8) == 0 ? null : MergeStacktraces(random), Right = random.Next(8) == 0 ? null : MergeStacktraces(random) },
        "GetProfileStats" => new TypesV1.GetProfileStatsRequest(),
        "AnalyzeQuery" => new AnalyzeQueryRequest { Start = Start(random), End = End(random), Query = Selector(random, typed: true) },
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, null),
    };

    private SeriesRequest Series(Random random)
    {
        var request = Fill(new SeriesRequest { Start = Start(random), End = End(random) }, r => r.Matchers, random);
        for (var i = random.Next(3); i > 0; i--)
        {
            request.LabelNames.Add(Pick(Names, random));
        }
        return request;
    }

    private SelectMergeStacktracesRequest MergeStacktraces(Random random)
    {
        var request = new SelectMergeStacktracesRequest
        {
            ProfileTypeID = ProfileType(random),
            LabelSelector = Selector(random, typed: false),
            Start = Start(random),
            End = End(random),
            Format = Wild(random) ? (ProfileFormat)random.Next(-1, 7) : (ProfileFormat)random.Next(0, 5),
        };
        if (random.Next(2) == 0)
        {
            request.MaxNodes = Wild(random) ? Edge(random) : random.Next(1, 20000);
        }
        if (random.Next(4) == 0)
        {
            request.StackTraceSelector = StackTraceSelector(random);
        }
        Ids(request.ProfileIdSelector, random, ProfileId);
        if (random.Next(2) == 0 || Wild(random))
        {
            Ids(request.TraceIdSelector, random, r => Hex(r, 32));
        }
        if (request.TraceIdSelector.Count == 0 || Wild(random))
        {
            Ids(request.SpanSelector, random, r => Hex(r, 16));
        }
        return request;
    }

    private SelectMergeSpanProfileRequest SpanProfile(Random random)
    {
        var request = new SelectMergeSpanProfileRequest
        {
            ProfileTypeID = ProfileType(random),
            LabelSelector = Selector(random, typed: false),
            Start = Start(random),
            End = End(random),
            Format = Wild(random) ? (ProfileFormat)random.Next(-1, 4) : (ProfileFormat)random.Next(0, 3),
        };
        for (var i = random.Next(4); i > 0; i--)
        {
            request.SpanSelector.Add(Wild(random) ? Pick(Values, random) : random.NextInt64().ToString("x16"));
        }
        if (random.Next(2) == 0)
        {
            request.MaxNodes = Wild(random) ? Edge(random) : random.Next(1, 20000);
        }
        return request;
    }

    private SelectMergeProfileRequest MergeProfile(Random random)
    {
        var request = new SelectMergeProfileRequest
        {
            ProfileTypeID = ProfileType(random),
            LabelSelector = Selector(random, typed: false),
            Start = Start(random),
            End = End(random),
        };
        if (random.Next(2) == 0)
        {
            request.MaxNodes = Wild(random) ? Edge(random) : random.Next(1, 20000);
        }
        if (random.Next(4) == 0)
        {
            request.StackTraceSelector = StackTraceSelector(random);
        }
        Ids(request.ProfileIdSelector, random, ProfileId);
        Ids(request.TraceIdSelector, random, r => Hex(r, 32));
        return request;
    }

    private SelectHeatmapRequest SelectHeatmap(Random random)
    {
        var request = new SelectHeatmapRequest
        {
            ProfileTypeID = ProfileType(random),
            LabelSelector = Selector(random, typed: false),
            Start = Start(random),
            End = End(random),
            Step = Wild(random) ? Pick([0, 15, 1, -1, 1e-300, 1e300, double.NaN, double.PositiveInfinity, double.NegativeInfinity, 0.001, 86400], random) : Pick([15, 60, 3600], random),
            QueryType = Wild(random) ? (HeatmapQueryType)random.Next(-1, 5) : (HeatmapQueryType)random.Next(1, 3),
        };
        request.ExemplarType = Wild(random) ? (TypesV1.ExemplarType)random.Next(-1, 6)
            : random.Next(2) == 0 ? TypesV1.ExemplarType.None
            : request.QueryType == HeatmapQueryType.Span ? TypesV1.ExemplarType.Span : TypesV1.ExemplarType.Individual;
        for (var i = random.Next(3); i > 0; i--)
        {
            request.GroupBy.Add(Wild(random) ? Pick(Names, random) : Pick(ValidNames, random));
        }
        if (random.Next(2) == 0)
        {
            request.Limit = Wild(random) ? Edge(random) : random.Next(1, 10);
        }
        return request;
    }

    /// <summary>Up to three ids: well-formed (matching nothing, mostly) or, when wild, malformed.</summary>
    private void Ids(Google.Protobuf.Collections.RepeatedField<string> into, Random random, Func<Random, string> wellFormed)
    {
        if (random.Next(3) != 0)
        {
            return;
        }
        for (var i = random.Next(1, 4); i > 0; i--)
        {
            into.Add(Wild(random) ? Pick(BadIds, random) : wellFormed(random));
        }
    }

    private static string ProfileId(Random random)
    {
        var bytes = new byte[16];
        random.NextBytes(bytes);
        return new Guid(bytes).ToString();
    }

    private static string Hex(Random random, int digits)
    {
        var bytes = new byte[digits / 2];
        random.NextBytes(bytes);
        bytes[0] |= 1;
        return Convert.ToHexStringLower(bytes);
    }

    private SelectSeriesRequest SelectSeries(Random random)
    {
        var request = new SelectSeriesRequest
        {
            ProfileTypeID = ProfileType(random),
            LabelSelector = Selector(random, typed: false),
            Start = Start(random),
            End = End(random),
            Step = Wild(random) ? Pick([0, 15, 1, -1, 1e-300, 1e300, double.NaN, double.PositiveInfinity, double.NegativeInfinity, 0.001, 86400], random) : Pick([0, 15, 60, 3600], random),
            ExemplarType = Wild(random) ? (TypesV1.ExemplarType)random.Next(-1, 6) : (TypesV1.ExemplarType)random.Next(0, 4),
        };
        for (var i = random.Next(3); i > 0; i--)
        {
            request.GroupBy.Add(Wild(random) ? Pick(Names, random) : Pick(ValidNames, random));
        }
        if (random.Next(2) == 0)
        {
            request.Aggregation = Wild(random) ? (TypesV1.TimeSeriesAggregationType)random.Next(-1, 4) : (TypesV1.TimeSeriesAggregationType)random.Next(0, 2);
        }
        if (random.Next(2) == 0)
        {
            request.Limit = Wild(random) ? Edge(random) : random.Next(1, 10);
        }
        if (random.Next(4) == 0)
        {
            request.StackTraceSelector = StackTraceSelector(random);
        }
        return request;
    }

    private TypesV1.StackTraceSelector StackTraceSelector(Random random)
    {
        var selector = new TypesV1.StackTraceSelector();
        for (var i = random.Next(4); i > 0; i--)
        {
            selector.CallSite.Add(new TypesV1.Location { Name = Wild(random) ? Pick(["", "work", new string('f', 5000)], random) : Pick(["runtime.main", "main.main"], random) });
        }
        if (random.Next(3) == 0)
        {
            selector.GoPgo = new TypesV1.GoPGO { KeepLocations = (uint)random.Next(), AggregateCallees = random.Next(2) == 0 };
        }
        return selector;
    }

    private T Fill<T>(T request, Func<T, Google.Protobuf.Collections.RepeatedField<string>> matchers, Random random)
    {
        for (var i = random.Next(3); i > 0; i--)
        {
            matchers(request).Add(Selector(random, typed: random.Next(3) == 0));
        }
        return request;
    }

    /// <summary>A selector: grammatical, with operators and pathological regexes; when wild, garbage or broken names.</summary>
    private string Selector(Random random, bool typed)
    {
        if (Wild(random) && random.Next(3) == 0)
        {
            return Pick(Garbage, random);
        }
        var terms = new List<string>();
        for (var i = random.Next(4); i > 0; i--)
        {
            var op = Pick(["=", "!=", "=~", "!~"], random);
            var value = op.Contains('~') ? Pick(Wild(random) ? Regexes : ValidRegexes, random) : Pick(Values, random);
            terms.Add($"{(Wild(random) ? Pick(Names, random) : Pick(ValidNames, random))}{op}\"{value.Replace("\\", "\\\\").Replace("\"", "\\\"")}\"");
        }
        return (typed ? ProfileType(random) : "") + "{" + string.Join(",", terms) + "}";
    }

    private string ProfileType(Random random) => Wild(random) ? Pick(ProfileTypes, random) : Pick(ValidProfileTypes, random);

    private long Start(Random random) => Wild(random) ? Time(random) : AroundMs - random.NextInt64(0, 7_200_000);

    private long End(Random random) => Wild(random) ? Time(random) : AroundMs + random.NextInt64(0, 7_200_000);

    /// <summary>Unix milliseconds: the data's neighbourhood, the calendar's ends, and int64's.</summary>
    public long Time(Random random) => random.Next(10) switch
    {
        0 => 0,
        1 => Pick([long.MinValue, long.MaxValue, -9_000_000_000_000_000_000, 9_223_372_036_854_775, -1, 253_402_300_799_999, 253_402_300_800_000], random),
        2 => random.NextInt64(long.MinValue, long.MaxValue),
        _ => AroundMs + random.NextInt64(-7_200_000, 7_200_000),
    };

    private static long Edge(Random random) => Pick([0, -1, 1, long.MaxValue, long.MinValue, 16384, 1_048_577, int.MaxValue], random);

    private static T Pick<T>(T[] items, Random random) => items[random.Next(items.Length)];
}
