using BenchmarkDotNet.Attributes;
using Pyroscope.Ring;

namespace Pyroscope.Benchmarks.Ring;

/// <summary>Replication-set lookups as the distributor does them, one per series: must not allocate.</summary>
[MemoryDiagnoser]
public class RingLookupBenchmarks
{
    private const int KeysPerOp = 1024;
    private readonly uint[] _keys = new uint[KeysPerOp];
    private readonly int[] _replicas = new int[3];
    private RingDescriptor _descriptor = null!;
    private RingSnapshot _snapshot = null!;
    private long _now;

    [Params(3, 30)]
    public int Instances { get; set; }

    [Params(false, true)]
    public bool Zones { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        _now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        _descriptor = new RingDescriptor();
        var taken = new HashSet<uint>();
        for (var i = 0; i < Instances; i++)
        {
            var tokens = RingTokens.Generate(128, taken, random);
            taken.UnionWith(tokens);
            _descriptor.Instances[$"ingester-{i}"] = new InstanceDesc
            {
                Id = $"ingester-{i}",
                State = InstanceState.Active,
                Tokens = tokens,
                Zone = Zones ? $"zone-{i % 3}" : null,
                HeartbeatTimestampMs = _now,
            };
        }
        _snapshot = new RingSnapshot(1, _descriptor);
        for (var i = 0; i < KeysPerOp; i++)
        {
            _keys[i] = (uint)random.NextInt64(0, 1L << 32);
        }
    }

    [Benchmark(OperationsPerInvoke = KeysPerOp)]
    public int GetReplicasRf3()
    {
        var total = 0;
        foreach (var key in _keys)
        {
            total += _snapshot.GetReplicas(key, 3, RingOperation.Write, _now, TimeSpan.FromMinutes(1), _replicas);
        }
        return total;
    }

    [Benchmark]
    public RingSnapshot BuildSnapshot() => new(2, _descriptor);
}
