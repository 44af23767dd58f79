using BenchmarkDotNet.Attributes;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Model;
using Pyroscope.Model.Query;
using Pyroscope.Storage.Blocks;
using Pyroscope.Storage.Head;
using Pyroscope.Storage.Query;

namespace Pyroscope.Benchmarks.Storage;

/// <summary>
/// Head append: one op = one go-cpu profile (737 samples). Each invocation fills a fresh head with 64
/// profiles, so symbol interning happens once and the rest is the steady state of a long stream.
/// </summary>
[MemoryDiagnoser]
public class HeadAppendBenchmarks
{
    private const int ProfilesPerInvoke = 64;
    private ProfileSeries[] _series = [];

    [GlobalSetup]
    public void Setup()
    {
        _series = new ProfileSeries[ProfilesPerInvoke];
        var template = StorageBenchData.GoCpuSeries("x", 1_700_000_000_000);
        for (var i = 0; i < _series.Length; i++)
        {
            var s = template.Clone();
            s.Id = "p" + i;
            _series[i] = s;
        }
    }

    [Benchmark(Description = "append go-cpu profile (737 samples)", OperationsPerInvoke = ProfilesPerInvoke)]
    public int Append()
    {
        var head = new TenantHead("bench", Ulid.NewUlid());
        foreach (var s in _series)
        {
            head.Append(s, 0);
        }
        return head.ProfileCount;
    }
}

/// <summary>Block encode/decode and a merge over a block of 240 profiles (one hour of one service at 15 s).</summary>
[MemoryDiagnoser]
public class BlockBenchmarks
{
    private TenantTables _tables = null!;
    private EncodedBlock _block = null!;
    private BlockIndex _index = null!;

    [GlobalSetup]
    public void Setup()
    {
        var head = new TenantHead("bench", Ulid.NewUlid());
        var template = StorageBenchData.GoCpuSeries("x", 0);
        for (var i = 0; i < 240; i++)
        {
            var s = template.Clone();
            s.Id = "p" + i;
            s.Profile.TimeNanos = (1_700_000_000_000 + i * 15_000L) * 1_000_000;
            head.Append(s, 0);
        }
        _tables = head.Tables;
        _block = BlockWriter.Encode(_tables, "bench", head.BlockId, 1, []);
        _index = BlockDecoder.DecodeIndex(_block.Index);
    }

    [Benchmark(Description = "encode block (240 profiles)")]
    public int Encode() => BlockWriter.Encode(_tables, "bench", Ulid.NewUlid(), 1, []).Samples.Length;

    // The baseline of the read-path goal: just reading the stacks of the hour (query time ≤ 3× this).
    [Benchmark(Baseline = true, Description = "decode index + symbols + samples")]
    public int Decode()
    {
        var index = BlockDecoder.DecodeIndex(_block.Index);
        var symbols = BlockDecoder.DecodeSymbols(_block.Symbols);
        var samples = BlockDecoder.DecodeSeriesChunk(_block.Samples.AsSpan(0, index.ChunkLength[0]), index, 0);
        return symbols.NodeCount + samples.Count;
    }

    [Benchmark(Description = "merge stacks of 240 profiles from a decoded block")]
    public long Merge()
    {
        var symbols = BlockDecoder.DecodeSymbols(_block.Symbols);
        var samples = BlockDecoder.DecodeSeriesChunk(_block.Samples.AsSpan(0, _index.ChunkLength[0]), _index, 0);
        var perStack = new long[symbols.NodeCount];
        SourceQueries.AccumulateStacks(_index.Series, _index.Profiles, new OneSeries(samples), [0], new TimeRange(0, long.MaxValue), SampleFilter.None, null, null, perStack);
        var sink = new CountingSink();
        SourceQueries.EmitStacks(symbols, perStack, symbols.NodeCount, sink);
        return sink.Total;
    }

    [Benchmark(Description = "query: merge 240 profiles into a flame-graph tree and render it (8192 nodes)")]
    public int MergeIntoFlameGraph()
    {
        var index = BlockDecoder.DecodeIndex(_block.Index);
        var symbols = BlockDecoder.DecodeSymbols(_block.Symbols);
        var samples = BlockDecoder.DecodeSeriesChunk(_block.Samples.AsSpan(0, index.ChunkLength[0]), index, 0);
        var perStack = new long[symbols.NodeCount];
        SourceQueries.AccumulateStacks(index.Series, index.Profiles, new OneSeries(samples), [0], new TimeRange(0, long.MaxValue), SampleFilter.None, null, null, perStack);
        var tree = new StackTree();
        SourceQueries.EmitStacks(symbols, perStack, symbols.NodeCount, tree);
        return FlameGraphData.From(tree, 8192).Names.Count;
    }

    private sealed class OneSeries(SampleColumns samples) : ISampleProvider
    {
        public SampleColumns SamplesOf(int seriesId) => samples;
    }

    private sealed class CountingSink : IStackSink
    {
        private int _names;

        public long Total { get; private set; }

        public int Intern(string frameName) => _names++;

        public void Add(ReadOnlySpan<int> rootToLeaf, long value) => Total += value;
    }
}
