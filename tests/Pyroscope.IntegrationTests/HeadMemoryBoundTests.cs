using System.Net;
using Pyroscope.IntegrationTests.Hostile;

namespace Pyroscope.IntegrationTests;

/// <summary>
/// max_head_bytes on a real monolith: pushes far beyond it are cut into several blocks as they arrive (not once per
/// flush round), the resident memory stays near the idle process plus the bound, and every profile is queryable after.
/// </summary>
public sealed class HeadMemoryBoundTests
{
    private const long MaxHeadBytes = 2L << 20;
    private const int Pushes = 480;

    [Fact]
    public async Task Pushes_far_beyond_max_head_bytes_are_cut_into_blocks_and_nothing_is_lost()
    {
        var ct = TestContext.Current.CancellationToken;
        var bytes = await File.ReadAllBytesAsync(RepositoryPaths.Fixture("go/go-cpu.pb.gz"), ct);
        var profile = ExpectedStacks.ParsePprof(bytes);
        var expected = ExpectedStacks.FromPprof(profile, 1);
        var timeMs = profile.TimeNanos / 1_000_000;
        // The ingestion rate limit raised: the pushes come as fast as the server takes them.
        await using var server = await PyroscopeProcess.StartMonolithAsync(
            ["-distributor.ingestion-rate-limit-mb=100000", "-distributor.ingestion-burst-size-mb=100000"],
            environment: new Dictionary<string, string?>
        {
            ["pyroscopedb__max_head_bytes"] = MaxHeadBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        var idle = ServerProbe.ResidentBytes(server);

        using var sampling = new CancellationTokenSource();
        var peak = ServerProbe.SamplePeakAsync(server, sampling.Token);
        var next = -1;
        var writers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < Pushes)
            {
                using var content = new ByteArrayContent(bytes);
                using var response = await server.Http.PostAsync($"/ingest?name=head-bound{{pod=pod-{i % 16}}}&format=pprof", content, ct);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
        }, ct)).ToArray();
        await Task.WhenAll(writers);

        // Each push adds ≈ 18 KB to the head estimate: 480 of them are ≈ 8.6 MB, four heads' worth or more.
        await Poll.UntilAsync(() => BlockCount(server.DataDirectory) >= 3,
            $"at least 3 blocks are written for ≈ {Pushes * 18 / 1024} MB of head with max_head_bytes = 2 MiB", timeoutSeconds: 60);
        sampling.Cancel();
        var (peakBytes, _) = await peak;
        Assert.True(peakBytes - idle < 512L << 20, $"resident memory grew {(peakBytes - idle) >> 20} MB over idle ({idle >> 20} MB) with a 2 MiB head bound");

        var actual = await Query.MergedStacksAsync(server.Http, "process_cpu:cpu:nanoseconds:cpu:nanoseconds", "{service_name=\"head-bound\"}", timeMs - 3_600_000, timeMs + 3_600_000, ct);
        foreach (var (stack, value) in expected)
        {
            Assert.Equal(value * Pushes, actual.GetValueOrDefault(stack));
        }
        Assert.Equal(expected.Values.Sum() * Pushes, actual.Values.Sum());
    }

    /// <summary>Distinct blocks written from heads: local copies and uploaded ones (a block can be in both).</summary>
    private static int BlockCount(string dataDirectory)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var root in new[] { Path.Combine(dataDirectory, "data", "local"), Path.Combine(dataDirectory, "data-shared") })
        {
            if (Directory.Exists(root))
            {
                foreach (var meta in Directory.GetFiles(root, "meta.json", SearchOption.AllDirectories))
                {
                    ids.Add(Path.GetFileName(Path.GetDirectoryName(meta)!));
                }
            }
        }
        return ids.Count;
    }
}
