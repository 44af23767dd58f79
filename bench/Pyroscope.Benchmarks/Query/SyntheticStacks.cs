namespace Pyroscope.Benchmarks.Query;

/// <summary>
/// Deterministic profile-shaped input: each "profile" has its own frame-name table (as a storage
/// source would) and samples whose stacks share prefixes like real call trees do.
/// </summary>
public sealed class SyntheticStacks
{
    public required string[][] NamesPerProfile { get; init; }

    /// <summary>Per profile: stacks as local frame ids, root first.</summary>
    public required int[][][] StacksPerProfile { get; init; }

    public required long[][] ValuesPerProfile { get; init; }

    public long SampleCount { get; init; }

    public static SyntheticStacks Create(int profiles, int samplesPerProfile, int distinctFunctions, int maxDepth, int distinctPaths = 512, int seed = 42)
    {
        var random = new Random(seed);
        var names = new string[profiles][];
        var stacks = new int[profiles][][];
        var values = new long[profiles][];
        // A fixed pool of "call paths": each stack picks a path and a depth, so prefixes repeat.
        var paths = new int[distinctPaths][];
        for (var i = 0; i < paths.Length; i++)
        {
            var depth = random.Next(maxDepth / 2, maxDepth + 1);
            paths[i] = new int[depth];
            for (var d = 0; d < depth; d++)
            {
                // Shallow frames come from a small set (main, runtime, handlers); deep ones vary more.
                var width = Math.Min(distinctFunctions, 4 + d * d * 4);
                paths[i][d] = random.Next(width);
            }
        }
        for (var p = 0; p < profiles; p++)
        {
            // Each source numbers the same functions differently, as separate blocks would.
            var permutation = Enumerable.Range(0, distinctFunctions).OrderBy(_ => random.Next()).ToArray();
            names[p] = new string[distinctFunctions];
            for (var f = 0; f < distinctFunctions; f++)
            {
                names[p][permutation[f]] = $"github.com/example/service/pkg{f % 37}.Function{f}";
            }
            stacks[p] = new int[samplesPerProfile][];
            values[p] = new long[samplesPerProfile];
            for (var s = 0; s < samplesPerProfile; s++)
            {
                var path = paths[random.Next(paths.Length)];
                var depth = random.Next(1, path.Length + 1);
                var stack = new int[depth];
                for (var d = 0; d < depth; d++)
                {
                    stack[d] = permutation[path[d]];
                }
                stacks[p][s] = stack;
                values[p][s] = random.Next(1, 100) * 10_000_000L;
            }
        }
        return new SyntheticStacks
        {
            NamesPerProfile = names,
            StacksPerProfile = stacks,
            ValuesPerProfile = values,
            SampleCount = (long)profiles * samplesPerProfile,
        };
    }
}
