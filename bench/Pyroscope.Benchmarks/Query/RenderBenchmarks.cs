using System.Buffers;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Pyroscope.Model;
using Pyroscope.Model.Query;

namespace Pyroscope.Benchmarks.Query;

/// <summary>Rendering a tree merged from one million samples (goal ≤ 100 ms for flamebearer JSON).</summary>
[MemoryDiagnoser]
public class RenderBenchmarks
{
    private static readonly ProfileTypeId Cpu = new("process_cpu", "cpu", "nanoseconds", "cpu", "nanoseconds");
    private StackTree _tree = null!;
    private readonly ArrayBufferWriter<byte> _output = new(16 << 20);

    [Params(8192, 1_048_576)]
    public long MaxNodes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var input = SyntheticStacks.Create(profiles: 100, samplesPerProfile: 10_000, distinctFunctions: 5000, maxDepth: 40, distinctPaths: 50_000);
        _tree = new StackTree();
        Span<int> buffer = stackalloc int[64];
        for (var p = 0; p < input.StacksPerProfile.Length; p++)
        {
            var map = Array.ConvertAll(input.NamesPerProfile[p], _tree.Intern);
            var stacks = input.StacksPerProfile[p];
            for (var s = 0; s < stacks.Length; s++)
            {
                for (var d = 0; d < stacks[s].Length; d++)
                {
                    buffer[d] = map[stacks[s][d]];
                }
                _tree.Add(buffer[..stacks[s].Length], input.ValuesPerProfile[p][s]);
            }
        }
        Console.WriteLine($"// tree: {_tree.NodeCount} nodes from {input.SampleCount} samples");
    }

    [Benchmark]
    public long FlamebearerJson()
    {
        _output.ResetWrittenCount();
        var graph = FlameGraphData.From(_tree, MaxNodes);
        using var writer = new Utf8JsonWriter(_output);
        Pyroscope.Model.Query.FlamebearerJson.Write(writer, graph, Cpu, null);
        return _output.WrittenCount;
    }

    [Benchmark]
    public int FlameGraphProto() => FlameGraphData.From(_tree, MaxNodes).ToProto().CalculateSize();
}
