using System.Collections.Concurrent;
using System.Net;
using Pyroscope.Testing;

namespace Pyroscope.IntegrationTests;

/// <summary>
/// What an acknowledged write promises: it survives SIGKILL at any moment (write-ahead log), and blocks written
/// by one process are read by another.
/// </summary>
public class DurabilityTests
{
    private const string Service = "crash-test";

    [Fact]
    public async Task Every_acknowledged_profile_survives_sigkill_at_random_points()
    {
        var ct = TestContext.Current.CancellationToken;
        var dataDirectory = Directory.CreateTempSubdirectory("pyroscope-crash-").FullName;
        var acked = new ConcurrentDictionary<int, bool>();
        var random = new Random(20261125);
        var sequence = 0;
        try
        {
            for (var round = 0; round < 3; round++)
            {
                await using var server = await PyroscopeProcess.StartReadyAsync("Pyroscope.All", ["-self-profiling.disable-push=true"], dataDirectory);
                var killAt = TimeSpan.FromMilliseconds(random.Next(300, 1500));
                using var stop = new CancellationTokenSource(killAt);
                var writers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
                {
                    while (!stop.IsCancellationRequested)
                    {
                        var id = Interlocked.Increment(ref sequence);
                        try
                        {
                            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
                            using var body = new StringContent($"main;work;push_{id} {id}\n");
                            using var response = await server.Http.PostAsync($"/ingest?name={Service}.cpu&from={now - 10}&until={now}&sampleRate=100", body, CancellationToken.None);
                            if (response.StatusCode == HttpStatusCode.OK)
                            {
                                acked[id] = true;
                            }
                        }
                        catch (HttpRequestException)
                        {
                            return; // killed mid-request: not acknowledged
                        }
                    }
                })).ToArray();
                await Task.Delay(killAt, ct);
                server.Kill();
                await Task.WhenAll(writers);
            }

            Assert.True(acked.Count > 20, $"only {acked.Count} writes were acknowledged before the kills");
            await using var restarted = await PyroscopeProcess.StartReadyAsync("Pyroscope.All", ["-self-profiling.disable-push=true"], dataDirectory);
            var end = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 60_000;
            var stacks = await Query.MergedStacksAsync(restarted.Http, "process_cpu:cpu:nanoseconds:cpu:nanoseconds", $"{{service_name=\"{Service}\"}}", end - 3_600_000, end, ct);
            var unit = stacks["main;work;push_" + acked.Keys.First()] / acked.Keys.First();
            foreach (var id in acked.Keys)
            {
                Assert.True(stacks.TryGetValue("main;work;push_" + id, out var value), $"acknowledged push {id} was lost ({acked.Count} acknowledged)");
                Assert.Equal(id * unit, value);
            }
        }
        finally
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task Blocks_written_by_the_monolith_are_read_by_a_separate_querier_process()
    {
        var ct = TestContext.Current.CancellationToken;
        var dataDirectory = Directory.CreateTempSubdirectory("pyroscope-blocks-").FullName;
        try
        {
            var bytes = await File.ReadAllBytesAsync(RepositoryPaths.Fixture("go/go-cpu.pb.gz"), ct);
            var profile = ExpectedStacks.ParsePprof(bytes);
            var expected = ExpectedStacks.FromPprof(profile, 1);
            var timeMs = profile.TimeNanos / 1_000_000;

            await using (var writer = await PyroscopeProcess.StartMonolithAsync(dataDirectory: dataDirectory))
            {
                using var content = new ByteArrayContent(bytes);
                var response = await writer.Http.PostAsync("/ingest?name=blocks-test&format=pprof", content, ct);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                // A graceful stop cuts the head into a block and uploads it to the shared store.
                writer.Terminate();
                Assert.Equal(0, await writer.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            }

            var blocks = Directory.GetFiles(Path.Combine(dataDirectory, "data-shared"), "meta.json", SearchOption.AllDirectories);
            Assert.NotEmpty(blocks);

            // A querier-only process with an empty local data path: everything comes from the object store.
            await using var querier = await PyroscopeProcess.StartReadyAsync("Pyroscope.Querier",
                ["-self-profiling.disable-push=true", $"-storage.filesystem.dir={Path.Combine(dataDirectory, "data-shared")}"]);
            var actual = await Query.MergedStacksAsync(querier.Http, "process_cpu:cpu:nanoseconds:cpu:nanoseconds", "{service_name=\"blocks-test\"}", timeMs - 3_600_000, timeMs + 3_600_000, ct);
            Assert.Equal(expected.Values.Sum(), actual.Values.Sum());
            foreach (var (stack, value) in expected)
            {
                Assert.Equal(value, actual.GetValueOrDefault(stack));
            }
        }
        finally
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }
}
