using Pyroscope.Contracts.Google.V1;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Model;
using Pyroscope.Model.Ingest;
using Pyroscope.Storage.Head;
using ValueType = Pyroscope.Contracts.Google.V1.ValueType;

namespace Pyroscope.Storage.Tests;

/// <summary>
/// The head interns a push's symbols table by table in row order, and only those its series' stacks use: series of
/// one profile that use different stacks (as normalisation leaves them when a sample is zero in one type) each add
/// exactly their own symbols, and a later series of the same push finds the earlier one's already resolved.
/// </summary>
public sealed class ProfileAppenderTests
{
    private const string Tenant = "tenant-appender";
    private static readonly long T0 = TestData.Start.ToUnixTimeMilliseconds();

    /// <param name="unusedLocations">Locations no sample refers to: enough of them take the append to the large-profile path.</param>
    [Theory]
    [InlineData(0)]
    [InlineData(ProfileAppender.RowOrderMinLocations)]
    public async Task Series_of_one_push_intern_only_the_symbols_their_stacks_use(int unusedLocations)
    {
        using var storage = new TestStore(time: TestData.Clock());
        var cpu = Labels("process_cpu:cpu:nanoseconds:cpu:nanoseconds");
        var samples = Labels("process_cpu:samples:count:cpu:nanoseconds");
        using var normalized = MessageSeries.ToNormalized(new ProfileSeries { Id = "cpu", Profile = Profile(unusedLocations) }, cpu);
        // A second type whose only sample is the second stack (main;b), appended first: it must intern that stack's
        // symbols and nothing of main;a or of the unused rows.
        using var second = new NormalizedSeries(samples, "samples", T0 * 1_000_000, 0, 1);
        second.SampleRuns.Add(1);
        second.SampleValues.Add(7);
        var head = storage.HeadOf(Tenant);
        var symbols = head.Tables.Symbols;

        Assert.Equal(1, head.Append([(normalized, second)], T0));
        Assert.Equal(2, symbols.LocationCount);
        Assert.Equal(2, symbols.FunctionCount);
        Assert.Equal(["", "b", "main", "main.go"], Strings(symbols));

        Assert.Equal(1, head.Append([(normalized, normalized.Series[0])], T0));
        Assert.Equal(3, symbols.LocationCount);
        Assert.Equal(3, symbols.FunctionCount);
        Assert.Equal(["", "a", "b", "main", "main.go"], Strings(symbols));

        Assert.Equal(new Dictionary<string, long> { ["main;a"] = 3, ["main;b"] = 5 },
            await TestData.MergeAsync(storage, Tenant, TestData.QueryFor(cpu, TestData.AroundStart)));
        Assert.Equal(new Dictionary<string, long> { ["main;b"] = 7 },
            await TestData.MergeAsync(storage, Tenant, TestData.QueryFor(samples, TestData.AroundStart)));
    }

    private static LabelSet Labels(string type)
    {
        Assert.True(ProfileTypeId.TryParse(type, out var id));
        return LabelSet.From([new Label(LabelNames.ServiceName, "appender"), .. id.SeriesLabels()]);
    }

    /// <summary>The head's strings, sorted: which strings are interned matters here, not in which order.</summary>
    private static string[] Strings(Symbols.SymbolTable symbols)
    {
        var strings = symbols.Strings.Span.ToArray();
        Array.Sort(strings, StringComparer.Ordinal);
        return strings;
    }

    /// <summary>main → a (3) and main → b (5); function and location "unused", and the extra locations, are referenced by no sample.</summary>
    private static Profile Profile(int unusedLocations)
    {
        var profile = new Profile { TimeNanos = T0 * 1_000_000 };
        profile.StringTable.Add(["", "unused", "b", "a", "main.go", "main", "cpu", "nanoseconds"]);
        profile.SampleType.Add(new ValueType { Type = 6, Unit = 7 });
        long[] names = [5, 3, 2, 1]; // functions 1 main, 2 a, 3 b, 4 unused; all in main.go
        for (var f = 1; f <= 4; f++)
        {
            profile.Function.Add(new Function { Id = (ulong)f, Name = names[f - 1], Filename = 4 });
            profile.Location.Add(new Location { Id = (ulong)f, Address = (ulong)(0x1000 * f), Line = { new Line { FunctionId = (ulong)f, Line_ = f } } });
        }
        for (var i = 0; i < unusedLocations; i++)
        {
            profile.Location.Add(new Location { Id = (ulong)(5 + i), Address = (ulong)(0x10_0000 + i), Line = { new Line { FunctionId = 4, Line_ = i } } });
        }
        profile.Sample.Add(new Sample { LocationId = { 2, 1 }, Value = { 3 } });
        profile.Sample.Add(new Sample { LocationId = { 3, 1 }, Value = { 5 } });
        return profile;
    }
}
