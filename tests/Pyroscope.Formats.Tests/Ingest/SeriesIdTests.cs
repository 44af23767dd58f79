using Pyroscope.Formats.Normalization;

namespace Pyroscope.Formats.Tests.Ingest;

/// <summary>
/// Profile ids come from a push's seed and the series' index in it: replicas given the same seed agree on them, and no
/// two pushes may share one (a shared id would make the querier's deduplication drop a profile).
/// </summary>
public sealed class SeriesIdTests
{
    [Fact]
    public void SeedsTakenConcurrentlyAreAllDistinct()
    {
        var perThread = new UInt128[4][];
        Parallel.For(0, perThread.Length, t =>
        {
            var seeds = new UInt128[50_000];
            for (var i = 0; i < seeds.Length; i++)
            {
                seeds[i] = ProfileNormalizer.NewIdSeed();
            }
            perThread[t] = seeds;
        });

        var all = new HashSet<UInt128>();
        foreach (var seeds in perThread)
        {
            foreach (var seed in seeds)
            {
                Assert.NotEqual(UInt128.Zero, seed);
                Assert.True(all.Add(seed), $"seed {seed} given twice");
            }
        }
    }

    [Fact]
    public void IdsAreVersion4UuidsThatDependOnSeedAndIndexOnly()
    {
        var first = ProfileNormalizer.NewIdSeed();
        var second = ProfileNormalizer.NewIdSeed();

        var ids = new HashSet<string>();
        foreach (var seed in new[] { first, second })
        {
            for (var index = 0; index < 1000; index++)
            {
                var id = ProfileNormalizer.SeriesId(seed, index);
                Assert.True(Guid.TryParse(id, out _), id);
                Assert.Equal('4', id[14]);
                Assert.Contains(id[19], "89ab");
                Assert.True(ids.Add(id), $"id {id} for two (seed, index) pairs");
                Assert.Equal(id, ProfileNormalizer.SeriesId(seed, index));
            }
        }
    }
}
