using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Google.Protobuf;
using Pyroscope.Contracts.Google.V1;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Model;
using Pyroscope.Testing;
using static Pyroscope.Distributor.Tests.Fixtures;

namespace Pyroscope.Distributor.Tests;

/// <summary>Old agents' binary bodies and Go generic names, through the real HTTP ingest endpoint.</summary>
public sealed class LegacyIngestHttpTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly Dictionary<string, long> FixtureStacks =
        LegacyTreeEncoder.ParseFolded(File.ReadAllText(PathOf("folded/go-cpu-nanoseconds.folded")));

    /// <summary>Root-first stacks of a stored series (function names joined by ';') → value.</summary>
    private static Dictionary<string, long> Stacks(Profile p)
    {
        var names = p.Function.ToDictionary(f => f.Id, f => p.StringTable[(int)f.Name]);
        var locations = p.Location.ToDictionary(l => l.Id);
        var stacks = new Dictionary<string, long>();
        foreach (var sample in p.Sample)
        {
            var frames = new List<string>();
            for (var i = sample.LocationId.Count - 1; i >= 0; i--)
            {
                var lines = locations[sample.LocationId[i]].Line;
                for (var l = lines.Count - 1; l >= 0; l--)
                {
                    frames.Add(names[lines[l].FunctionId]);
                }
            }
            var key = string.Join(';', frames);
            stacks[key] = stacks.GetValueOrDefault(key) + sample.Value[0];
        }
        return stacks;
    }

    public static TheoryData<string, string> Requests => new()
    {
        { "format=trie", "" },
        { "format=tree", "" },
        { "", "binary/octet-stream+trie" },
        { "", "binary/octet-stream+tree" },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task Trie_and_tree_bodies_store_exactly_the_folded_stacks(string format, string contentType)
    {
        await using var host = await DistributorHost.StartAsync();
        var trie = format.Contains("trie") || contentType.EndsWith("+trie", StringComparison.Ordinal);
        var content = new ByteArrayContent(trie ? LegacyTreeEncoder.Trie(FixtureStacks) : LegacyTreeEncoder.Tree(FixtureStacks));
        if (contentType.Length > 0)
        {
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        using var response = await host.Client.PostAsync($"/ingest?name=legacy.agent.cpu{{team=x}}&from=1700000000&until=1700000010&sampleRate=100&spyName=gospy&{format}", content, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var series = Assert.Single(host.Ingester.AllSeries());
        Assert.Equal("legacy.agent", Label(series, LabelNames.ServiceName));
        Assert.Equal("x", Label(series, "team"));
        Assert.Equal("process_cpu:cpu:nanoseconds:cpu:nanoseconds", Label(series, LabelNames.ProfileType));
        // 100 Hz: each sample is 10 ms.
        var expected = FixtureStacks.ToDictionary(kv => kv.Key, kv => kv.Value * 10_000_000);
        Assert.Equal(expected.OrderBy(k => k.Key), Stacks(series.Profile).OrderBy(k => k.Key));
    }

    [Fact]
    public async Task Truncated_tree_is_a_400_naming_format_and_offset()
    {
        await using var host = await DistributorHost.StartAsync();
        var body = LegacyTreeEncoder.Tree(FixtureStacks);
        using var response = await host.Client.PostAsync("/ingest?name=app&format=tree", new ByteArrayContent(body[..(body.Length / 2)]), Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        var message = json.RootElement.GetProperty("message").GetString()!;
        Assert.StartsWith("tree:", message);
        Assert.Contains("byte offset", message);
        Assert.Empty(host.Ingester.Pushes);
    }

    [Fact]
    public async Task Go_pprof_with_generic_shapes_is_stored_with_elided_names()
    {
        await using var host = await DistributorHost.StartAsync();
        var profile = Decode(Read("go/go-cpu.pb.gz"));
        var expectedTotal = profile.Sample.Sum(s => s.Value[1]);
        var original = profile.Function.Select(f => profile.StringTable[(int)f.Name]).ToHashSet();
        foreach (var function in profile.Function)
        {
            // Each function reported under its own string, carrying a shape as Go 1.21+ does for generics.
            profile.StringTable.Add(profile.StringTable[(int)function.Name] + "[go.shape.struct { a [4]int }]");
            function.Name = profile.StringTable.Count - 1;
        }

        using var response = await host.Client.PostAsync("/ingest?name=goapp&spyName=gospy&format=pprof", new ByteArrayContent(profile.ToByteArray()), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // The fixture's pprof labels split it into several series; together they hold every sample.
        var cpu = host.Ingester.AllSeries().Where(s => Label(s, LabelNames.SampleType) == "cpu").ToList();
        Assert.Equal(expectedTotal, cpu.Sum(series => series.Profile.Sample.Sum(s => s.Value[0])));
        var stored = cpu.SelectMany(series => series.Profile.Sample.SelectMany(s => s.LocationId)
            .Select(id => series.Profile.Location.Single(l => l.Id == id))
            .SelectMany(l => l.Line).Select(line => series.Profile.StringTable[(int)series.Profile.Function.Single(f => f.Id == line.FunctionId).Name])).ToList();
        Assert.NotEmpty(stored);
        Assert.All(stored, name => Assert.EndsWith("[...]", name));
        Assert.All(stored, name => Assert.Contains(name[..^"[...]".Length], original));
    }
}
