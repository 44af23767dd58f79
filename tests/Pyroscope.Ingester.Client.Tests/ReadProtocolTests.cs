using System.IO.Compression;
using Google.Protobuf;
using Pyroscope.Contracts.Google.V1;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Model;
using Pyroscope.Testing;
using Label = Pyroscope.Model.Label;
using MatchType = Pyroscope.Model.MatchType;

namespace Pyroscope.Ingester.Client.Tests;

public sealed class ReadProtocolTests
{
    [Fact]
    public void StackSetRoundTripsEveryStackOfARealProfile()
    {
        var profile = Profile.Parser.ParseFrom(Ungzip(File.ReadAllBytes(RepositoryPaths.Fixture("go/go-cpu.pb.gz"))));
        var expected = new Dictionary<string, long>();
        var builder = new StackSetBuilder();
        var functions = profile.Function.ToDictionary(f => f.Id, f => profile.StringTable[(int)f.Name]);
        var locations = profile.Location.ToDictionary(l => l.Id);
        foreach (var sample in profile.Sample)
        {
            var frames = new List<string>();
            for (var i = sample.LocationId.Count - 1; i >= 0; i--)
            {
                var location = locations[sample.LocationId[i]];
                for (var j = location.Line.Count - 1; j >= 0; j--)
                {
                    frames.Add(functions[location.Line[j].FunctionId]);
                }
            }
            var value = sample.Value[1];
            if (value != 0)
            {
                var key = string.Join(';', frames);
                expected[key] = expected.GetValueOrDefault(key) + value;
            }
            builder.Add(frames.Select(builder.Intern).ToArray(), value);
        }
        Assert.NotEmpty(expected);

        var wire = builder.Build().ToByteArray();
        var decoded = StackSet.Parser.ParseFrom(wire);
        var sink = new RecordingSink();
        StackSetReader.ReplayInto(decoded, sink);

        Assert.Equal(expected.OrderBy(e => e.Key), sink.Stacks.OrderBy(e => e.Key));
        // Compact: each name once, and shared prefixes stored once.
        Assert.Equal(decoded.Names.Count, decoded.Names.Distinct().Count());
        Assert.True(decoded.Parents.Count < expected.Keys.Sum(k => k.Split(';').Length), "prefixes should be shared");
    }

    [Fact]
    public void ReplayIntoASinkWithOtherIdsMapsNames()
    {
        var builder = new StackSetBuilder();
        int a = builder.Intern("a"), b = builder.Intern("b"), c = builder.Intern("c");
        builder.Add([a, b], 5);
        builder.Add([a, b, c], 7);
        builder.Add([a, b], 1);
        builder.Add([c], 0); // zero values carry nothing
        var sink = new RecordingSink(firstId: 1000);
        StackSetReader.ReplayInto(builder.Build(), sink);
        Assert.Equal(new Dictionary<string, long> { ["a;b"] = 6, ["a;b;c"] = 7 }, sink.Stacks);
    }

    [Fact]
    public void MalformedStackSetsAreRejected()
    {
        var sink = new RecordingSink();
        var forwardParent = new StackSet { Names = { "a" }, Parents = { 0 }, NameIds = { 0 }, Values = { 1 } };
        Assert.Contains("parent", Assert.Throws<InvalidDataException>(() => StackSetReader.ReplayInto(forwardParent, sink)).Message);
        var badName = new StackSet { Names = { "a" }, Parents = { -1 }, NameIds = { 3 }, Values = { 1 } };
        Assert.Contains("name 3", Assert.Throws<InvalidDataException>(() => StackSetReader.ReplayInto(badName, sink)).Message);
        var ragged = new StackSet { Names = { "a" }, Parents = { -1 }, NameIds = { 0 } };
        Assert.Throws<InvalidDataException>(() => StackSetReader.ReplayInto(ragged, sink));
        Assert.Empty(sink.Stacks);
    }

    [Fact]
    public void SelectQueryKeepsMatchersRangeAndSpanFilter()
    {
        var query = new SelectQuery(
            [new LabelMatcher("service_name", MatchType.Equal, "api"), new LabelMatcher("env", MatchType.NotRegex, "dev|test")],
            new TimeRange(10, 20));
        var unfiltered = ReadProtocol.FromProto(SelectRequest.Parser.ParseFrom(ReadProtocol.ToProto(query).ToByteArray()));
        Assert.Null(unfiltered.SpanIds);
        Assert.Equal(query.Range, unfiltered.Range);
        Assert.Equal([("service_name", MatchType.Equal, "api"), ("env", MatchType.NotRegex, "dev|test")],
            unfiltered.Matchers.Select(m => (m.Name, m.Type, m.Value)));
        Assert.False(unfiltered.Matchers[1].Matches("dev"));

        var emptyFilter = ReadProtocol.FromProto(ReadProtocol.ToProto(query with { SpanIds = new HashSet<string>() }));
        Assert.NotNull(emptyFilter.SpanIds);
        Assert.Empty(emptyFilter.SpanIds);
    }

    [Fact]
    public void ProfileTotalsSendEachSeriesOnce()
    {
        var api = LabelSet.From(new Label("service_name", "api"));
        var web = LabelSet.From(new Label("service_name", "web"));
        ProfileTotal[] totals = [new(api, 1, 10, "p1"), new(web, 2, 20, "p2"), new(api, 3, 30, "p3")];
        var response = ReadProtocol.ToProto(totals);
        Assert.Equal(2, response.Series.Count);
        Assert.Equal(totals, ReadProtocol.FromProto(ProfileTotalsResponse.Parser.ParseFrom(response.ToByteArray())));

        response.Totals[0].SeriesIndex = 7;
        Assert.Throws<InvalidDataException>(() => ReadProtocol.FromProto(response));
    }

    [Fact]
    public void UnknownMatcherTypeIsABadRequest()
    {
        var matcher = new Matcher { Name = "x", Type = (MatcherType)42, Value = "y" };
        Assert.Contains("'x'", Assert.Throws<ArgumentException>(() => ReadProtocol.FromProto([matcher])).Message);
    }

    private static byte[] Ungzip(byte[] data)
    {
        using var input = new GZipStream(new MemoryStream(data), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }

    private sealed class RecordingSink(int firstId = 0) : IStackSink
    {
        private readonly List<string> _names = [];

        public Dictionary<string, long> Stacks { get; } = [];

        public int Intern(string frameName)
        {
            _names.Add(frameName);
            return firstId + _names.Count - 1;
        }

        public void Add(ReadOnlySpan<int> rootToLeaf, long value)
        {
            var frames = new string[rootToLeaf.Length];
            for (var i = 0; i < frames.Length; i++)
            {
                frames[i] = _names[rootToLeaf[i] - firstId];
            }
            var key = string.Join(';', frames);
            Stacks[key] = Stacks.GetValueOrDefault(key) + value;
        }
    }
}
