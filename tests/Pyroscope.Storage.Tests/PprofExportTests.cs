using Google.Protobuf;
using Pyroscope.Contracts.Google.V1;
using Pyroscope.Model;
using Pyroscope.Model.Query;
using Pyroscope.Testing;

namespace Pyroscope.Storage.Tests;

/// <summary>
/// The symbolised export (IProfileReader.MergeProfileAsync): real profiles stored in a head and in a flushed
/// block come back with their files, lines, mappings and build ids, compared with an independent decode.
/// </summary>
public sealed class PprofExportTests
{
    private const string Tenant = "tenant-pprof";
    private static readonly long T0 = TestData.Start.ToUnixTimeMilliseconds();
    private static readonly TimeRange All = new(T0 - 3_600_000, T0 + 3_600_000);

    public static TheoryData<string> Inputs => new()
    {
        "go/go-cpu.pb.gz",
        "go/go-heap.pb.gz",
        "nodejs/nodejs-001.pb.gz",
        "upstream/og_convert_pprof__dotnet-pprof-3.pb.gz",
        "upstream/og_convert_pprof__heap.pb.gz",
        "upstream/pprof__profile_java",
    };

    [Theory]
    [MemberData(nameof(Inputs))]
    public async Task Head_and_block_export_every_source_line_and_mapping_with_shared_symbols_once(string fixture)
    {
        using var storage = new TestStore(time: TestData.Clock());
        var profile = Fixtures.Decode(fixture);
        // Two copies with different ids: the first flushed to a block, the second in the head.
        var inBlock = Fixtures.ToSeries(profile, "svc", T0, "first");
        var inHead = Fixtures.ToSeries(profile, "svc", T0 + 1_000, "second");
        await storage.PushAsync(Tenant, Fixtures.Push(inBlock), CancellationToken.None);
        await storage.FlushAsync();
        Assert.Single(storage.BlockIds);
        await storage.PushAsync(Tenant, Fixtures.Push(inHead), CancellationToken.None);
        var reader = storage;

        foreach (var series in inBlock)
        {
            var input = new PprofSymbols(series.Profile);
            var exported = await ExportAsync(reader, series);
            var output = new PprofSymbols(exported);

            AssertDoubled(input.FlatByLine(0), output.FlatByLine(0), fixture);
            AssertDoubled(input.CumulativeByLine(0), output.CumulativeByLine(0), fixture);
            Assert.Equal(input.UsedMappings(0), output.UsedMappings(0));
            // The block and the head hold the same symbols and stacks: each appears once in the export.
            var (functions, locations, stacks) = input.DistinctUsedSymbols(0);
            Assert.Equal(functions, exported.Function.Count);
            Assert.Equal(locations, exported.Location.Count);
            Assert.Equal(stacks, exported.Sample.Count);
            Assert.Equal(input.UsedMappings(0).Count, exported.Mapping.Count);
            Assert.Equal(exported.StringTable.Count, exported.StringTable.Distinct().Count());
        }
    }

    [Fact]
    public async Task Go_cpu_export_keeps_files_lines_addresses_and_build_ids()
    {
        // Guards the theory above against a fixture without symbols: go-cpu has all of them.
        using var storage = new TestStore(time: TestData.Clock());
        var series = Fixtures.ToSeries(Fixtures.Decode("go/go-cpu.pb.gz"), "svc", T0)[1];
        // No fixture carries a build id (Go writes one only for binaries built with it): give the mapping one.
        series.Profile.StringTable.Add("4f2a9c1e0b7d3e55");
        series.Profile.Mapping[0].BuildId = series.Profile.StringTable.Count - 1;
        await storage.PushAsync(Tenant, Fixtures.Push([series]), CancellationToken.None);

        var exported = await ExportAsync(storage, series);

        var input = new PprofSymbols(series.Profile);
        Assert.Contains(input.FlatByLine(0).Keys, k => k.File.EndsWith(".go", StringComparison.Ordinal) && k.Line > 0);
        Assert.Contains(input.UsedMappings(0), m => m.BuildId == "4f2a9c1e0b7d3e55" && m.File.Length > 0);
        Assert.Equal(input.UsedMappings(0), new PprofSymbols(exported).UsedMappings(0));
        Assert.Equal(input.FlatByLine(0), new PprofSymbols(exported).FlatByLine(0));
        Assert.Contains(exported.Mapping, m => m.HasFunctions && m.HasFilenames && m.HasLineNumbers && exported.StringTable[(int)m.BuildId].Length > 0);
        var addresses = series.Profile.Location.Select(l => l.Address).Where(a => a != 0).ToHashSet();
        Assert.NotEmpty(addresses);
        Assert.All(exported.Location, l => Assert.Contains(l.Address, addresses));
    }

    [Fact]
    public async Task A_replica_in_a_block_and_the_head_counts_once_and_excluded_profiles_not_at_all()
    {
        using var storage = new TestStore(time: TestData.Clock());
        var series = Fixtures.ToSeries(Fixtures.Decode("go/go-cpu.pb.gz"), "svc", T0, "same-id")[1];
        await storage.PushAsync(Tenant, Fixtures.Push([series]), CancellationToken.None);
        await storage.FlushAsync();
        // The same profile id again (as a replica would write it) lands in the new head.
        await storage.PushAsync(Tenant, Fixtures.Push([series]), CancellationToken.None);
        var reader = storage;
        var expected = new PprofSymbols(series.Profile).FlatByLine(0);

        Assert.Equal(expected, new PprofSymbols(await ExportAsync(reader, series)).FlatByLine(0));

        var query = QueryFor(series) with { ExcludeProfileIds = new HashSet<string> { series.Id } };
        var merger = new PprofMerger();
        await reader.MergeProfileAsync(Tenant, query, merger, CancellationToken.None);
        Assert.Equal(0, merger.SampleCount);
    }

    [Fact]
    public async Task Go_tool_pprof_lists_the_exported_file_and_line()
    {
        var go = new[] { "/usr/bin/go", "/usr/local/go/bin/go" }.FirstOrDefault(File.Exists);
        Assert.True(go is not null, "go is not installed: apt-get install -y golang-go (.ci/run does)");
        using var dir = new TempDir();
        using var storage = new TestStore(time: TestData.Clock());
        var series = Fixtures.ToSeries(Fixtures.Decode("go/go-cpu.pb.gz"), "svc", T0)[1];
        await storage.PushAsync(Tenant, Fixtures.Push([series]), CancellationToken.None);
        var type = ProfileTypeId.TryParse(series.Labels.First(l => l.Name == LabelNames.ProfileType).Value, out var t) ? t : throw new InvalidOperationException();
        var merger = new PprofMerger();
        await storage.MergeProfileAsync(Tenant, QueryFor(series), merger, CancellationToken.None);
        var file = Path.Combine(dir.Path, "export.pb");
        await File.WriteAllBytesAsync(file, merger.ToProfile(type, All).ToByteArray(), TestContext.Current.CancellationToken);

        // The heaviest source line by self value, from the input.
        var top = new PprofSymbols(series.Profile).FlatByLine(0).MaxBy(kv => kv.Value).Key;
        var environment = new Dictionary<string, string?> { ["HOME"] = dir.Path, ["GOCACHE"] = Path.Combine(dir.Path, "go-cache"), ["PPROF_BINARY_PATH"] = dir.Path };

        var (exitCode, lines) = await ExternalProcess.RunAsync(go!, ["tool", "pprof", "-top", "-lines", "-nodecount=3", file], TimeSpan.FromSeconds(120), dir.Path, environment);
        Assert.True(exitCode == 0, lines);
        Assert.Contains($"{Path.GetFileName(top.File)}:{top.Line}", lines);
        Assert.Contains(top.Function, lines);

        var (listExit, listing) = await ExternalProcess.RunAsync(go!, ["tool", "pprof", "-list", "^" + System.Text.RegularExpressions.Regex.Escape(top.Function) + "$", file], TimeSpan.FromSeconds(120), dir.Path, environment);
        Assert.True(listExit == 0, listing);
        Assert.Contains($"ROUTINE ======================== {top.Function} in {top.File}", listing);
    }

    private static SelectQuery QueryFor(Contracts.Ingester.V1.ProfileSeries series) =>
        TestData.QueryFor(LabelSet.From(series.Labels.Select(l => new Label(l.Name, l.Value))), All);

    private static async Task<Profile> ExportAsync(IProfileReader reader, Contracts.Ingester.V1.ProfileSeries series)
    {
        var merger = new PprofMerger();
        await reader.MergeProfileAsync(Tenant, QueryFor(series), merger, CancellationToken.None);
        // Through the wire format, as a client receives it.
        return Profile.Parser.ParseFrom(merger.ToProfile().ToByteArray());
    }

    private static void AssertDoubled(Dictionary<SourceLine, long> input, Dictionary<SourceLine, long> output, string fixture)
    {
        Assert.True(input.Count == output.Count, $"{fixture}: {input.Count} source lines in, {output.Count} out");
        foreach (var (line, value) in input)
        {
            Assert.True(output.GetValueOrDefault(line) == 2 * value, $"{fixture}: {line} expected {2 * value}, got {output.GetValueOrDefault(line)}");
        }
    }
}
