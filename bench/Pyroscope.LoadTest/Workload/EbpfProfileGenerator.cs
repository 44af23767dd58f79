using System.Globalization;
using Pyroscope.Contracts.Google.V1;
using ValueType = Pyroscope.Contracts.Google.V1.ValueType;

namespace Pyroscope.LoadTest.Workload;

/// <summary>
/// A whole-host eBPF CPU profile as the OpenTelemetry eBPF profiler / Grafana Alloy produce it (upstream's
/// grafana/pyroscope#4133: ≈ 4 MB gzipped): many processes' native and interpreted frames, hundreds of mappings
/// with build ids, tens of thousands of functions, a hundred thousand locations (addresses, a third of them
/// unsymbolised, some with inlined lines) and deep stacks that share long prefixes. Deterministic: the same shape gives
/// the same bytes.
/// </summary>
public static class EbpfProfileGenerator
{
    /// <summary>The knobs; the defaults give ≈ 4 MB gzipped with 15 000 samples (under the default 16 000 limit).</summary>
    public sealed record Shape
    {
        public int Samples { get; init; } = 15_000;

        public int Mappings { get; init; } = 400;

        public int Functions { get; init; } = 30_000;

        public int Locations { get; init; } = 100_000;

        public int MinDepth { get; init; } = 24;

        public int MaxDepth { get; init; } = 160;

        /// <summary>Call sites a frame calls into.</summary>
        public int FanOut { get; init; } = 6;

        /// <summary>Long call paths the samples' stacks start with (skewed: some far hotter than others).</summary>
        public int HotPaths { get; init; } = 400;

        /// <summary>Frames a stack adds below its hot-path prefix, at most.</summary>
        public int MaxTail { get; init; } = 24;

        public int Seed { get; init; } = 4133;
    }

    private const long PeriodNanos = 50_000_000; // 20 Hz, the eBPF profiler's default

    private static readonly string[] Words =
    [
        "alloc", "buffer", "cache", "codec", "conn", "decode", "encode", "event", "exec", "fetch", "flush", "frame", "gc",
        "handler", "hash", "http", "index", "io", "json", "kernel", "lock", "loop", "map", "merge", "net", "parse",
        "pool", "proto", "queue", "read", "render", "request", "ring", "sched", "scan", "send", "serve", "sort", "span",
        "stream", "sync", "table", "task", "thread", "timer", "trace", "tree", "worker", "write", "zstd",
    ];

    public static Profile Generate(Shape shape, long timeNanos)
    {
        var random = new Random(shape.Seed);
        var strings = new StringTable();
        var profile = new Profile
        {
            TimeNanos = timeNanos,
            DurationNanos = 15_000_000_000,
            Period = PeriodNanos,
            PeriodType = new ValueType { Type = strings.Id("cpu"), Unit = strings.Id("nanoseconds") },
        };
        profile.SampleType.Add(new ValueType { Type = strings.Id("samples"), Unit = strings.Id("count") });
        profile.SampleType.Add(new ValueType { Type = strings.Id("cpu"), Unit = strings.Id("nanoseconds") });

        AddMappings(profile, shape, random, strings);
        AddFunctions(profile, shape, random, strings);
        AddLocations(profile, shape, random);
        AddSamples(profile, shape, random);
        profile.StringTable.Add(strings.Strings);
        return profile;
    }

    private static void AddMappings(Profile profile, Shape shape, Random random, StringTable strings)
    {
        ulong start = 0x5555_0000_0000;
        for (var m = 1; m <= shape.Mappings; m++)
        {
            var size = (ulong)random.Next(1 << 20, 64 << 20) & ~0xFFFUL;
            var library = m == 1 ? "/usr/bin/app-server" : $"/usr/lib/x86_64-linux-gnu/lib{Word(random)}{Word(random)}-{m}.so.{random.Next(1, 9)}";
            profile.Mapping.Add(new Mapping
            {
                Id = (ulong)m,
                MemoryStart = start,
                MemoryLimit = start + size,
                FileOffset = (ulong)random.Next(0, 16) * 0x1000,
                Filename = strings.Id(library),
                BuildId = strings.Id(Hex(random, 20)),
                HasFunctions = true,
                HasFilenames = m % 4 != 0,
                HasLineNumbers = m % 4 != 0,
            });
            start += size + 0x10_0000;
        }
    }

    private static void AddFunctions(Profile profile, Shape shape, Random random, StringTable strings)
    {
        for (var f = 1; f <= shape.Functions; f++)
        {
            // Three language flavours, as a host running native, Go and JVM/Python processes shows them.
            var (name, file) = (f % 3) switch
            {
                0 => ($"{Word(random)}::{Pascal(Word(random))}{Pascal(Word(random))}::{Word(random)}_{Word(random)}<{Word(random)}_t>(unsigned long)",
                      $"/src/{Word(random)}/{Word(random)}_{Word(random)}.cc"),
                1 => ($"github.com/acme/{Word(random)}/pkg/{Word(random)}.(*{Pascal(Word(random))}).{Pascal(Word(random))}{Pascal(Word(random))}",
                      $"/go/src/github.com/acme/{Word(random)}/pkg/{Word(random)}/{Word(random)}.go"),
                _ => ($"com.acme.{Word(random)}.{Pascal(Word(random))}{Pascal(Word(random))}.{Word(random)}{Pascal(Word(random))}",
                      $"{Pascal(Word(random))}{Pascal(Word(random))}.java"),
            };
            var nameId = strings.Id(name);
            profile.Function.Add(new Function
            {
                Id = (ulong)f,
                Name = nameId,
                SystemName = nameId,
                Filename = strings.Id(file),
                StartLine = random.Next(1, 4000),
            });
        }
    }

    private static void AddLocations(Profile profile, Shape shape, Random random)
    {
        for (var l = 1; l <= shape.Locations; l++)
        {
            var mapping = profile.Mapping[Skewed(random, shape.Mappings)];
            var location = new Location
            {
                Id = (ulong)l,
                MappingId = mapping.Id,
                Address = mapping.MemoryStart + (ulong)random.NextInt64(0, (long)(mapping.MemoryLimit - mapping.MemoryStart)),
            };
            // A third unsymbolised (address only, symbolised later from the build id); some inlined frames.
            if (l % 3 != 0)
            {
                var lines = random.Next(10) == 0 ? random.Next(2, 4) : 1;
                for (var i = 0; i < lines; i++)
                {
                    location.Line.Add(new Line { FunctionId = (ulong)random.Next(1, shape.Functions + 1), Line_ = random.Next(1, 6000) });
                }
            }
            profile.Location.Add(location);
        }
    }

    private static void AddSamples(Profile profile, Shape shape, Random random)
    {
        // A random call graph (each location calls into FanOut others). Stacks are a prefix of one of the hot paths
        // (a process's main loops: threads spend their time under few long prefixes) plus a short walk of their own.
        var callees = new int[shape.Locations * shape.FanOut];
        for (var i = 0; i < callees.Length; i++)
        {
            callees[i] = random.Next(shape.Locations);
        }
        var hotPaths = new int[shape.HotPaths][];
        for (var p = 0; p < hotPaths.Length; p++)
        {
            var path = new int[random.Next(shape.MinDepth, shape.MaxDepth + 1)];
            path[0] = random.Next(shape.Locations);
            for (var d = 1; d < path.Length; d++)
            {
                path[d] = callees[path[d - 1] * shape.FanOut + Skewed(random, shape.FanOut)];
            }
            hotPaths[p] = path;
        }
        var stack = new List<ulong>(shape.MaxDepth + shape.MaxTail);
        for (var s = 0; s < shape.Samples; s++)
        {
            stack.Clear();
            var path = hotPaths[Skewed(random, hotPaths.Length)];
            var prefix = random.Next(Math.Min(shape.MinDepth, path.Length), path.Length + 1);
            for (var d = 0; d < prefix; d++)
            {
                stack.Add((ulong)path[d] + 1);
            }
            var at = path[prefix - 1];
            var tail = random.Next(1, shape.MaxTail + 1);
            for (var d = 0; d < tail; d++)
            {
                at = callees[at * shape.FanOut + random.Next(shape.FanOut)];
                stack.Add((ulong)at + 1);
            }
            stack.Reverse(); // pprof: leaf first
            var sample = new Sample();
            sample.LocationId.Add(stack);
            var count = 1 + Skewed(random, 8);
            sample.Value.Add(count);
            sample.Value.Add(count * PeriodNanos);
            profile.Sample.Add(sample);
        }
    }

    /// <summary>0..n-1 with small values more likely (hot call sites and libraries), as in real profiles.</summary>
    private static int Skewed(Random random, int n)
    {
        var u = random.NextDouble();
        return Math.Min(n - 1, (int)(n * u * u * u));
    }

    private static string Word(Random random) => Words[random.Next(Words.Length)];

    private static string Pascal(string word) => char.ToUpperInvariant(word[0]) + word[1..];

    private static string Hex(Random random, int bytes)
    {
        Span<byte> buffer = stackalloc byte[bytes];
        random.NextBytes(buffer);
        return Convert.ToHexStringLower(buffer);
    }

    private sealed class StringTable
    {
        private readonly Dictionary<string, long> _ids = new(StringComparer.Ordinal) { [""] = 0 };

        public List<string> Strings { get; } = [""];

        public long Id(string value)
        {
            if (!_ids.TryGetValue(value, out var id))
            {
                id = Strings.Count;
                _ids[value] = id;
                Strings.Add(value);
            }
            return id;
        }
    }
}

/// <summary>Helpers to describe a generated profile in the report.</summary>
public static class ProfileFacts
{
    public static string Describe(Profile profile, int gzippedBytes, int rawBytes)
    {
        long frames = 0;
        var maxDepth = 0;
        foreach (var sample in profile.Sample)
        {
            frames += sample.LocationId.Count;
            maxDepth = Math.Max(maxDepth, sample.LocationId.Count);
        }
        return string.Create(CultureInfo.InvariantCulture,
            $"{gzippedBytes / 1048576.0:F2} MB gz ({rawBytes / 1048576.0:F1} MB raw), {profile.Sample.Count} samples, stack depth avg {frames / (double)Math.Max(1, profile.Sample.Count):F0} max {maxDepth}, {profile.Location.Count} locations, {profile.Function.Count} functions, {profile.Mapping.Count} mappings");
    }
}
