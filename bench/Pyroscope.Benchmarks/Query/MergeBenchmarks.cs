using BenchmarkDotNet.Attributes;
using Pyroscope.Model.Query;

namespace Pyroscope.Benchmarks.Query;

/// <summary>
/// Merging many profiles into one tree versus only walking the same stacks: the ratio says what
/// the tree costs on top of reading the input (goal ≤ 3×).
/// </summary>
[MemoryDiagnoser]
public class MergeBenchmarks
{
    private SyntheticStacks _input = null!;

    /// <summary>Sources (blocks, ingesters), each with its own symbol table and 10 profiles of 1000 samples.</summary>
    [Params(20)]
    public int Sources { get; set; }

    [GlobalSetup]
    public void Setup() => _input = SyntheticStacks.Create(Sources, samplesPerProfile: 10_000, distinctFunctions: 2000, maxDepth: 32);

    /// <summary>Baseline: visit every frame of every sample and its value, mapping local ids as a sink would.</summary>
    [Benchmark(Baseline = true)]
    public long IterateStacks()
    {
        long checksum = 0;
        for (var p = 0; p < _input.StacksPerProfile.Length; p++)
        {
            var names = _input.NamesPerProfile[p];
            var map = new int[names.Length];
            for (var i = 0; i < map.Length; i++)
            {
                map[i] = names[i].Length;
            }
            var stacks = _input.StacksPerProfile[p];
            var values = _input.ValuesPerProfile[p];
            for (var s = 0; s < stacks.Length; s++)
            {
                foreach (var frame in stacks[s])
                {
                    checksum += map[frame];
                }
                checksum += values[s];
            }
        }
        return checksum;
    }

    public long HashOnly()
    {
        long sum = 0;
        Span<int> buffer = stackalloc int[64];
        for (var p = 0; p < _input.StacksPerProfile.Length; p++)
        {
            var stacks = _input.StacksPerProfile[p];
            for (var s = 0; s < stacks.Length; s++)
            {
                var stack = stacks[s];
                for (var d = 0; d < stack.Length; d++)
                {
                    buffer[d] = stack[d];
                }
                sum += (long)System.IO.Hashing.XxHash3.HashToUInt64(System.Runtime.InteropServices.MemoryMarshal.AsBytes(buffer[..stack.Length]));
            }
        }
        return sum;
    }

    public long HashNamesOnly()
    {
        long sum = 0;
        for (var p = 0; p < _input.StacksPerProfile.Length; p++)
        {
            foreach (var name in _input.NamesPerProfile[p])
            {
                sum += (long)System.IO.Hashing.XxHash3.HashToUInt64(System.Runtime.InteropServices.MemoryMarshal.AsBytes(name.AsSpan()));
            }
        }
        return sum;
    }

    public long InternOnly()
    {
        var tree = new StackTree();
        long sum = 0;
        for (var p = 0; p < _input.StacksPerProfile.Length; p++)
        {
            foreach (var name in _input.NamesPerProfile[p])
            {
                sum += tree.Intern(name);
            }
        }
        return sum;
    }

    [Benchmark]
    public long MergeIntoTree() => MergeInto(new StackTree());

    /// <summary>A fresh tree sized for the result up front: what growing the arrays costs.</summary>
    public long MergeIntoPresizedTree() => MergeInto(new StackTree(capacity: 16_384));

    /// <summary>Steady state: the same merge into a tree that already holds every stack.</summary>
    public long MergeIntoWarmTree() => MergeInto(_warm ??= new StackTree());

    private StackTree? _warm;

    /// <summary>Only the Add calls, with stacks already in the tree's ids.</summary>
    public long AddOnlyWarm()
    {
        var tree = _warm ??= new StackTree();
        if (_mapped is null)
        {
            _mapped = new int[_input.StacksPerProfile.Length][][];
            for (var p = 0; p < _mapped.Length; p++)
            {
                var map = Array.ConvertAll(_input.NamesPerProfile[p], tree.Intern);
                _mapped[p] = Array.ConvertAll(_input.StacksPerProfile[p], st => Array.ConvertAll(st, f => map[f]));
            }
        }
        for (var p = 0; p < _mapped.Length; p++)
        {
            var values = _input.ValuesPerProfile[p];
            for (var s = 0; s < _mapped[p].Length; s++)
            {
                tree.Add(_mapped[p][s], values[s]);
            }
        }
        return tree.NodeCount;
    }

    private int[][][]? _mapped;

    private long MergeInto(StackTree tree)
    {
        Span<int> buffer = stackalloc int[64];
        for (var p = 0; p < _input.StacksPerProfile.Length; p++)
        {
            var names = _input.NamesPerProfile[p];
            var map = new int[names.Length];
            for (var i = 0; i < map.Length; i++)
            {
                map[i] = tree.Intern(names[i]);
            }
            var stacks = _input.StacksPerProfile[p];
            var values = _input.ValuesPerProfile[p];
            for (var s = 0; s < stacks.Length; s++)
            {
                var stack = stacks[s];
                for (var d = 0; d < stack.Length; d++)
                {
                    buffer[d] = map[stack[d]];
                }
                tree.Add(buffer[..stack.Length], values[s]);
            }
        }
        return tree.Total;
    }
}
