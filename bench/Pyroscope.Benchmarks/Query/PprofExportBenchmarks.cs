using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Pyroscope.Benchmarks.Storage;
using Pyroscope.Model;
using Pyroscope.Model.Query;
using Pyroscope.Storage.Blocks;
using Pyroscope.Storage.Head;
using Pyroscope.Storage.Query;
using Pyroscope.Storage.Symbols;

namespace Pyroscope.Benchmarks.Query;

/// <summary>
/// SelectMergeProfile over a decoded block of 240 profiles (one hour of one service at 15 s), serialised as the
/// API returns it. Baseline: the old export built from merged frame names only. The full-fidelity export keeps
/// mappings, files, lines and addresses; "two sources" merges the block twice into one profile, as a head and the
/// block flushed from it share symbols.
/// </summary>
[MemoryDiagnoser]
public class PprofExportBenchmarks
{
    private static readonly ProfileTypeId Type = new("process_cpu", "cpu", "nanoseconds", "cpu", "nanoseconds");
    private static readonly TimeRange Range = new(0, long.MaxValue / 2_000_000);

    private BlockIndex _index = null!;
    private SymbolTable _symbols = null!;
    private SampleColumns _samples = null!;

    [Params("go/go-cpu.pb.gz", "upstream/og_convert_pprof__dotnet-pprof-3.pb.gz")]
    public string Fixture { get; set; } = "go/go-cpu.pb.gz";

    [GlobalSetup]
    public void Setup()
    {
        var head = new TenantHead("bench", Ulid.NewUlid());
        var template = StorageBenchData.GoCpuSeries("x", 0);
        template.Profile = SingleType(StorageBenchData.Decode(Fixture));
        for (var i = 0; i < 240; i++)
        {
            var s = template.Clone();
            s.Id = "p" + i;
            s.Profile.TimeNanos = (1_700_000_000_000 + i * 15_000L) * 1_000_000;
            head.Append(s, 0);
        }
        var block = BlockWriter.Encode(head.Tables, "bench", head.BlockId, 1, []);
        _index = BlockDecoder.DecodeIndex(block.Index);
        _symbols = BlockDecoder.DecodeSymbols(block.Symbols);
        _samples = BlockDecoder.DecodeSeriesChunk(block.Samples.AsSpan(0, _index.ChunkLength[0]), _index, 0);
    }

    /// <summary>The sample type with the most non-zero samples, as the only one.</summary>
    private static Contracts.Google.V1.Profile SingleType(Contracts.Google.V1.Profile profile)
    {
        var best = Enumerable.Range(0, profile.SampleType.Count).MaxBy(t => profile.Sample.Count(s => s.Value[t] != 0));
        foreach (var sample in profile.Sample)
        {
            var v = sample.Value[best];
            sample.Value.Clear();
            sample.Value.Add(v);
        }
        var type = profile.SampleType[best];
        profile.SampleType.Clear();
        profile.SampleType.Add(type);
        return profile;
    }

    private long[] SumPerStack()
    {
        var perStack = new long[_symbols.NodeCount];
        SourceQueries.AccumulateStacks(_index.Series, _index.Profiles, new OneSeries(_samples), [0], Range, SampleFilter.None, null, null, perStack);
        return perStack;
    }

    [Benchmark(Baseline = true, Description = "name-only pprof (old export)")]
    public int NameOnly()
    {
        var tree = new StackTree();
        SourceQueries.EmitStacks(_symbols, SumPerStack(), _symbols.NodeCount, tree);
        return StackExports.ToPprof(tree, Type, 0, Range).ToByteArray().Length;
    }

    [Benchmark(Description = "full-fidelity pprof")]
    public int FullFidelity()
    {
        var merger = new PprofMerger();
        SourceQueries.EmitPprof(_symbols, SumPerStack(), _symbols.NodeCount, merger);
        return merger.ToProfile(Type, Range).ToByteArray().Length;
    }

    [Benchmark(Description = "full-fidelity pprof, two sources sharing symbols")]
    public int FullFidelityTwoSources()
    {
        var merger = new PprofMerger();
        var perStack = SumPerStack();
        SourceQueries.EmitPprof(_symbols, perStack, _symbols.NodeCount, merger);
        SourceQueries.EmitPprof(_symbols, perStack, _symbols.NodeCount, merger);
        return merger.ToProfile(Type, Range).ToByteArray().Length;
    }

    private sealed class OneSeries(SampleColumns samples) : ISampleProvider
    {
        public SampleColumns SamplesOf(int seriesId) => samples;
    }
}
