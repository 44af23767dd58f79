using System.Text;
using BenchmarkDotNet.Attributes;
using Pyroscope.Formats.Ingest;
using Pyroscope.Testing;

namespace Pyroscope.Benchmarks.Ingest;

/// <summary>
/// Decoding the old agents' trie/tree bodies against folded text carrying the same stacks (the baseline).
/// Scale 1 is the real folded fixture; scale 100 repeats it under 100 distinct root frames.
/// </summary>
[MemoryDiagnoser]
public class LegacyTreeBenchmarks
{
    private const long Now = 1_800_000_000_000_000_000;

    private byte[] _folded = [];
    private byte[] _trie = [];
    private byte[] _tree = [];
    private IngestMetadata _foldedMetadata = null!;
    private IngestMetadata _trieMetadata = null!;
    private IngestMetadata _treeMetadata = null!;

    [Params(1, 100)]
    public int Scale { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var text = File.ReadAllText(Path.Combine(RepositoryPaths.Fixtures, "folded", "go-cpu-nanoseconds.folded"));
        var fixture = LegacyTreeEncoder.ParseFolded(text);
        var stacks = new Dictionary<string, long>(StringComparer.Ordinal);
        var folded = new StringBuilder();
        for (var i = 0; i < Scale; i++)
        {
            foreach (var (stack, value) in fixture)
            {
                var key = Scale == 1 ? stack : $"worker-{i};{stack}";
                stacks[key] = value;
                folded.Append(key).Append(' ').Append(value).Append('\n');
            }
        }
        _folded = Encoding.UTF8.GetBytes(folded.ToString());
        _trie = LegacyTreeEncoder.Trie(stacks);
        _tree = LegacyTreeEncoder.Tree(stacks);
        const string query = "name=goapp.cpu{env=prod}&from=1700000000&until=1700000010&sampleRate=100";
        _foldedMetadata = Metadata(query);
        _trieMetadata = Metadata(query + "&format=trie");
        _treeMetadata = Metadata(query + "&format=tree");
    }

    [Benchmark(Baseline = true)]
    public int Folded() => Samples(_foldedMetadata, _folded);

    [Benchmark]
    public int Trie() => Samples(_trieMetadata, _trie);

    [Benchmark]
    public int Tree() => Samples(_treeMetadata, _tree);

    private int Samples(IngestMetadata metadata, byte[] body) => IngestFormatRegistry.BuiltIn.Decode(metadata, null, body)[0].Profile.Sample.Count;

    private static IngestMetadata Metadata(string query)
    {
        var parsed = System.Web.HttpUtility.ParseQueryString(query);
        return IngestMetadata.Parse(name => parsed[name], Now);
    }
}
