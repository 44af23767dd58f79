using Pyroscope.Ring;

namespace Pyroscope.Ring.Tests;

public sealed class RingSnapshotTests
{
    private const long Now = 1_700_000_000_000;
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);

    private static int[] Lookup(RingSnapshot snapshot, uint key, int rf, RingOperation op = RingOperation.Write, long now = Now)
    {
        var buffer = new int[rf];
        var found = snapshot.GetReplicas(key, rf, op, now, Timeout, buffer);
        return buffer[..found];
    }

    private static string[] Ids(RingSnapshot snapshot, int[] indexes) => [.. indexes.Select(i => snapshot.Instances[i].Id)];

    [Fact]
    public void Key_is_owned_by_the_first_token_clockwise_and_wraps_around()
    {
        var snapshot = new RingSnapshot(1, TestRings.Descriptor(
            TestRings.Instance("a", [100, 400], Now),
            TestRings.Instance("b", [200, 500], Now),
            TestRings.Instance("c", [300], Now)));

        Assert.Equal(["a"], Ids(snapshot, Lookup(snapshot, 50, 1)));
        Assert.Equal(["b"], Ids(snapshot, Lookup(snapshot, 100, 1))); // a token owns keys up to and excluding itself from the next
        Assert.Equal(["c"], Ids(snapshot, Lookup(snapshot, 250, 1)));
        Assert.Equal(["a"], Ids(snapshot, Lookup(snapshot, 600, 1))); // past the last token wraps to the first
        Assert.Equal(["a"], Ids(snapshot, Lookup(snapshot, uint.MaxValue, 1)));
    }

    [Fact]
    public void Replication_set_takes_distinct_instances_clockwise()
    {
        var snapshot = new RingSnapshot(1, TestRings.Descriptor(
            TestRings.Instance("a", [100, 150], Now),
            TestRings.Instance("b", [200], Now),
            TestRings.Instance("c", [300], Now),
            TestRings.Instance("d", [400], Now)));

        // From 90: 100(a), 150(a again: skipped), 200(b), 300(c).
        Assert.Equal(["a", "b", "c"], Ids(snapshot, Lookup(snapshot, 90, 3)));
        Assert.Equal(["d", "a", "b"], Ids(snapshot, Lookup(snapshot, 350, 3)));
        // Asking for more replicas than members returns every member once.
        Assert.Equal(4, Lookup(snapshot, 0, 10).Length);
    }

    [Fact]
    public void Unhealthy_and_non_active_members_are_skipped_for_writes()
    {
        var stale = Now - (long)Timeout.TotalMilliseconds - 1;
        var snapshot = new RingSnapshot(1, TestRings.Descriptor(
            TestRings.Instance("a", [100], stale),
            TestRings.Instance("b", [200], Now, InstanceState.Leaving),
            TestRings.Instance("c", [300], Now, InstanceState.Joining),
            TestRings.Instance("d", [400], Now),
            TestRings.Instance("e", [500], Now)));

        Assert.Equal(["d", "e"], Ids(snapshot, Lookup(snapshot, 0, 2)));
        // Reads may use LEAVING members (they still hold data) but not JOINING or stale ones.
        Assert.Equal(["b", "d"], Ids(snapshot, Lookup(snapshot, 0, 2, RingOperation.Read)));
        // A heartbeat exactly at the timeout is still healthy.
        var edge = new RingSnapshot(1, TestRings.Descriptor(TestRings.Instance("x", [1], Now - (long)Timeout.TotalMilliseconds)));
        Assert.Single(Lookup(edge, 0, 1));
    }

    [Fact]
    public void Zone_aware_sets_put_each_replica_in_a_different_zone()
    {
        var random = new Random(7);
        var snapshot = new RingSnapshot(1, TestRings.Random(9, 32, Now, zones: 3, random));
        for (var i = 0; i < 2000; i++)
        {
            var replicas = Lookup(snapshot, (uint)random.NextInt64(0, 1L << 32), 3);
            Assert.Equal(3, replicas.Length);
            Assert.Equal(3, replicas.Select(r => snapshot.Instances[r].Zone).Distinct().Count());
        }
    }

    [Fact]
    public void Lookups_match_a_naive_reference_on_random_rings()
    {
        var random = new Random(42);
        for (var round = 0; round < 20; round++)
        {
            var descriptor = TestRings.Random(random.Next(1, 12), random.Next(1, 64), Now, zones: 0, random);
            // Make some members unhealthy.
            foreach (var instance in descriptor.Instances.Values)
            {
                if (random.Next(4) == 0)
                {
                    instance.HeartbeatTimestampMs = Now - 3_600_000;
                }
            }
            var snapshot = new RingSnapshot(1, descriptor);
            var rf = random.Next(1, 5);
            for (var i = 0; i < 200; i++)
            {
                var key = (uint)random.NextInt64(0, 1L << 32);
                Assert.Equal(NaiveReplicas(descriptor, key, rf), Ids(snapshot, Lookup(snapshot, key, rf)));
            }
        }
    }

    private static string[] NaiveReplicas(RingDescriptor descriptor, uint key, int rf)
    {
        var ordered = descriptor.Instances.Values
            .SelectMany(i => i.Tokens.Select(t => (Token: t, Instance: i)))
            .OrderBy(x => x.Token)
            .ToList();
        var start = ordered.FindIndex(x => x.Token > key);
        if (start < 0)
        {
            start = 0;
        }
        var result = new List<string>();
        for (var step = 0; step < ordered.Count && result.Count < rf; step++)
        {
            var instance = ordered[(start + step) % ordered.Count].Instance;
            if (!result.Contains(instance.Id) && instance.State == InstanceState.Active && Now - instance.HeartbeatTimestampMs <= Timeout.TotalMilliseconds)
            {
                result.Add(instance.Id);
            }
        }
        return [.. result];
    }

    [Fact]
    public void Lookup_allocates_nothing()
    {
        var snapshot = new RingSnapshot(1, TestRings.Random(30, 128, Now, zones: 3, new Random(1)));
        Span<int> buffer = stackalloc int[3];
        snapshot.GetReplicas(123, 3, RingOperation.Write, Now, Timeout, buffer); // warm up
        var before = GC.GetAllocatedBytesForCurrentThread();
        var total = 0;
        for (uint key = 0; key < 10_000; key++)
        {
            total += snapshot.GetReplicas(key * 429_496u, 3, RingOperation.Write, Now, Timeout, buffer);
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(30_000, total);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Ownership_covers_the_whole_token_space()
    {
        var snapshot = new RingSnapshot(1, TestRings.Descriptor(
            TestRings.Instance("a", [0], Now),
            TestRings.Instance("b", [1u << 30], Now)));
        var owned = snapshot.Ownership();
        Assert.Equal(0.75, owned[0], 6); // a owns (2^30, 2^32) wrapped plus 0
        Assert.Equal(0.25, owned[1], 6);

        var random = new RingSnapshot(1, TestRings.Random(7, 128, Now, 0, new Random(3)));
        Assert.Equal(1.0, random.Ownership().Sum(), 9);
    }

    [Fact]
    public void Generated_tokens_are_sorted_distinct_and_avoid_taken_ones()
    {
        var random = new Random(5);
        var taken = new HashSet<uint>(RingTokens.Generate(1000, new HashSet<uint>(), random));
        var tokens = RingTokens.Generate(128, taken, random);
        Assert.Equal(128, tokens.Distinct().Count());
        Assert.Equal(tokens.Order(), tokens);
        Assert.DoesNotContain(tokens, taken.Contains);
    }

    [Fact]
    public void Fingerprint_folding_uses_both_halves()
    {
        Assert.Equal(0x12345678u ^ 0x9abcdef0u, RingTokens.FromFingerprint(0x12345678_9abcdef0UL));
        Assert.NotEqual(RingTokens.FromFingerprint(1UL << 40), RingTokens.FromFingerprint(0));
    }

    [Fact]
    public void Descriptor_round_trips_through_its_serialisation()
    {
        var descriptor = TestRings.Random(3, 4, Now, zones: 2, new Random(9));
        descriptor.Instances["ingester-1"].State = InstanceState.Leaving;
        var copy = RingDescriptor.Deserialize(descriptor.Serialize());
        Assert.Equal(descriptor.Instances.Keys.Order(), copy.Instances.Keys.Order());
        foreach (var (id, original) in descriptor.Instances)
        {
            var restored = copy.Instances[id];
            Assert.Equal(original.Tokens, restored.Tokens);
            Assert.Equal(original.State, restored.State);
            Assert.Equal(original.Zone, restored.Zone);
            Assert.Equal(original.GrpcAddr, restored.GrpcAddr);
            Assert.Equal(original.HeartbeatTimestampMs, restored.HeartbeatTimestampMs);
        }
        Assert.Contains("\"LEAVING\"", System.Text.Encoding.UTF8.GetString(descriptor.Serialize()));
        Assert.Throws<InvalidDataException>(() => RingDescriptor.Deserialize("{not json"u8));
    }
}
