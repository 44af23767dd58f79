using Google.Protobuf;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Pyroscope.Testing;
using Pyroscope.Testing.Fuzzing;

namespace Pyroscope.IntegrationTests;

/// <summary>
/// The three components as separate processes sharing a Redis ring and a filesystem object store: the querier
/// must see data the ingester has not uploaded yet, and after the ingester's graceful stop (which uploads its
/// block) the same data exactly once from the store.
/// </summary>
public sealed class MicroservicesTests
{
    private const string ProfileType = "process_cpu:cpu:nanoseconds:cpu:nanoseconds";

    [Fact]
    public async Task QuerierReadsRecentDataFromIngestersThenFromTheStore()
    {
        var ct = TestContext.Current.CancellationToken;
        var bytes = await File.ReadAllBytesAsync(RepositoryPaths.Fixture("go/go-cpu.pb.gz"), ct);
        var profile = ExpectedStacks.ParsePprof(bytes);
        var expected = ExpectedStacks.FromPprof(profile, 1);
        var timeMs = profile.TimeNanos / 1_000_000;
        var shared = Directory.CreateTempSubdirectory("pyroscope-microservices-").FullName;
        await using var redis = await RedisServer.StartAsync();
        string[] common =
        [
            "-self-profiling.disable-push=true", "-ring.store=redis", $"-ring.redis.address={redis.Address}",
            $"-storage.filesystem.dir={shared}", "-validation.max-profile-size-bytes=33554432",
            "-distributor.ingestion-rate-limit-mb=64", "-distributor.ingestion-burst-size-mb=64",
        ];
        PyroscopeProcess? ingester = null, distributor = null, querier = null;
        try
        {
            var timeout = TimeSpan.FromSeconds(120); // three processes start at once on a loaded machine
            var starting = new[] { "Pyroscope.Ingester", "Pyroscope.Distributor", "Pyroscope.Querier" }
                .Select(project => PyroscopeProcess.StartReadyAsync(project, common))
                .ToArray();
            try
            {
                await Task.WhenAll(starting);
            }
            finally
            {
                // Whatever did start is disposed below, even when another failed.
                ingester = await StartedOrNullAsync(starting[0]);
                distributor = await StartedOrNullAsync(starting[1]);
                querier = await StartedOrNullAsync(starting[2]);
            }
            Assert.NotNull(ingester);
            Assert.NotNull(distributor);
            Assert.NotNull(querier);
            await Task.WhenAll(
                Query.EventuallyAsync(() => HasActiveIngesterAsync(distributor, ct), timeout, "the distributor sees the ingester ACTIVE"),
                Query.EventuallyAsync(() => HasActiveIngesterAsync(querier, ct), timeout, "the querier sees the ingester ACTIVE"));

            using (var content = new ByteArrayContent(bytes))
            {
                var response = await distributor.Http.PostAsync("/ingest?name=remote-read&format=pprof", content, ct);
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"ingest answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}");
            }

            // Right away: the push was durable on the ingester when it returned, and nothing is uploaded yet.
            Assert.Empty(Directory.GetFiles(shared, "meta.json", SearchOption.AllDirectories));
            AssertSameStacks(expected, await QueryAsync(querier, timeMs, ct));
            await AssertSameSourceLinesAsync(profile, querier, timeMs, ct);

            // A profile the limits admit travels to the ingester and back whatever its size: here over gRPC's own default
            // message limit of 4 MiB, gzipped (upstream's servers take 100 MiB).
            var big = WithIncompressibleStacks(profile, 15_000);
            var bigBody = PprofMutator.Gzip(big.ToByteArray());
            Assert.True(bigBody.Length > 4 << 20, $"the large profile is only {bigBody.Length} bytes gzipped");
            using (var content = new ByteArrayContent(bigBody))
            {
                var response = await distributor.Http.PostAsync("/ingest?name=remote-large&format=pprof", content, ct);
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"ingest of {bigBody.Length} bytes answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}");
            }
            AssertSameStacks(ExpectedStacks.FromPprof(big, 1),
                await Query.MergedStacksAsync(querier.Http, ProfileType, "{service_name=\"remote-large\"}", timeMs - 3_600_000, timeMs + 3_600_000, ct));

            // A graceful stop cuts the head into a block, uploads it and leaves the ring.
            ingester.Terminate();
            Assert.Equal(0, await ingester.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            Assert.NotEmpty(Directory.GetFiles(shared, "meta.json", SearchOption.AllDirectories));

            // The querier's ring and store listing catch up asynchronously; then every stack counts exactly once.
            Dictionary<string, long> fromStore = [];
            await Query.EventuallyAsync(async () => (fromStore = await QueryAsync(querier, timeMs, ct)).Count > 0, timeout, "the querier reads the uploaded block");
            AssertSameStacks(expected, fromStore);
            await AssertSameSourceLinesAsync(profile, querier, timeMs, ct);
        }
        finally
        {
            foreach (var process in new[] { querier, distributor, ingester })
            {
                if (process is not null)
                {
                    await process.DisposeAsync();
                }
            }
            Directory.Delete(shared, recursive: true);
        }
    }

    [Fact]
    public async Task WithTwoReplicasEveryProfileCountsOnceAndSurvivesTheLossOfOne()
    {
        var ct = TestContext.Current.CancellationToken;
        var bytes = await File.ReadAllBytesAsync(RepositoryPaths.Fixture("go/go-cpu.pb.gz"), ct);
        var profile = ExpectedStacks.ParsePprof(bytes);
        var expected = ExpectedStacks.FromPprof(profile, 1);
        var timeMs = profile.TimeNanos / 1_000_000;
        var shared = Directory.CreateTempSubdirectory("pyroscope-replicas-").FullName;
        await using var redis = await RedisServer.StartAsync();
        string[] common =
        [
            "-self-profiling.disable-push=true", "-ring.store=redis", $"-ring.redis.address={redis.Address}",
            $"-storage.filesystem.dir={shared}", "-distributor.replication-factor=2",
        ];
        var starting = new[] { "Pyroscope.Ingester", "Pyroscope.Ingester", "Pyroscope.Distributor", "Pyroscope.Querier" }
            .Select(project => PyroscopeProcess.StartReadyAsync(project, common))
            .ToArray();
        var started = new List<PyroscopeProcess>();
        try
        {
            try
            {
                await Task.WhenAll(starting);
            }
            finally
            {
                foreach (var task in starting)
                {
                    if (await StartedOrNullAsync(task) is { } process)
                    {
                        started.Add(process);
                    }
                }
            }
            Assert.Equal(4, started.Count);
            var (distributor, querier) = (started[2], started[3]);
            var timeout = TimeSpan.FromSeconds(120);
            await Query.EventuallyAsync(async () => await ActiveIngestersAsync(distributor, ct) == 2, timeout, "the distributor sees both ingesters ACTIVE");
            await Query.EventuallyAsync(async () => await ActiveIngestersAsync(querier, ct) == 2, timeout, "the querier sees both ingesters ACTIVE");

            using (var content = new ByteArrayContent(bytes))
            {
                var response = await distributor.Http.PostAsync("/ingest?name=remote-read&format=pprof", content, ct);
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"ingest answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}");
            }
            // Both ingesters hold the profile (replication factor 2); the querier merges it once.
            AssertSameStacks(expected, await QueryAsync(querier, timeMs, ct));
            await AssertSameSourceLinesAsync(profile, querier, timeMs, ct);

            // One replica dies without a word (SIGKILL, still ACTIVE in the ring until its heartbeat times out):
            // the other replica has every acknowledged profile, so the read tolerates the failure and loses nothing.
            started[0].Kill();
            AssertSameStacks(expected, await QueryAsync(querier, timeMs, ct));
            var totals = await Query.SeriesTotalAsync(querier.Http, ProfileType, "{service_name=\"remote-read\"}", timeMs - 3_600_000, timeMs + 3_600_000, ct);
            Assert.Equal(expected.Values.Sum(), totals);
            await AssertSameSourceLinesAsync(profile, querier, timeMs, ct);
        }
        finally
        {
            foreach (var process in started)
            {
                await process.DisposeAsync();
            }
            Directory.Delete(shared, recursive: true);
        }
    }

    private static async Task<int> ActiveIngestersAsync(PyroscopeProcess process, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/ring");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var response = await process.Http.SendAsync(request, ct);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
        var active = 0;
        foreach (var shard in json.RootElement.GetProperty("shards").EnumerateArray())
        {
            if (shard.GetProperty("state").GetString() == "ACTIVE")
            {
                active++;
            }
        }
        return active;
    }

    private static Task<Dictionary<string, long>> QueryAsync(PyroscopeProcess querier, long timeMs, CancellationToken ct) =>
        Query.MergedStacksAsync(querier.Http, ProfileType, "{service_name=\"remote-read\"}", timeMs - 3_600_000, timeMs + 3_600_000, ct);

    /// <summary>SelectMergeProfile keeps the input's files, lines and mappings, each profile counted once.</summary>
    private static async Task AssertSameSourceLinesAsync(Contracts.Google.V1.Profile input, PyroscopeProcess querier, long timeMs, CancellationToken ct)
    {
        var exported = new PprofSymbols(await Query.MergedPprofAsync(querier.Http, ProfileType, "{service_name=\"remote-read\"}", timeMs - 3_600_000, timeMs + 3_600_000, ct));
        var expected = new PprofSymbols(input);
        Assert.Equal(expected.FlatByLine(1).OrderBy(e => e.Key.ToString()), exported.FlatByLine(0).OrderBy(e => e.Key.ToString()));
        Assert.Equal(expected.UsedMappings(1), exported.UsedMappings(0));
    }

    /// <summary><paramref name="source"/> plus <paramref name="count"/> one-frame stacks named by random text, which gzip cannot shrink much.</summary>
    private static Contracts.Google.V1.Profile WithIncompressibleStacks(Contracts.Google.V1.Profile source, int count)
    {
        var profile = source.Clone();
        var random = new Random(13);
        var alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._".ToCharArray();
        var functionId = profile.Function.Max(f => f.Id);
        var locationId = profile.Location.Max(l => l.Id);
        for (var i = 0; i < count; i++)
        {
            profile.StringTable.Add(new string(random.GetItems(alphabet, 400)));
            profile.Function.Add(new Contracts.Google.V1.Function { Id = ++functionId, Name = profile.StringTable.Count - 1 });
            profile.Location.Add(new Contracts.Google.V1.Location { Id = ++locationId, Line = { new Contracts.Google.V1.Line { FunctionId = functionId } } });
            profile.Sample.Add(new Contracts.Google.V1.Sample { LocationId = { locationId }, Value = { 1, 10_000_000 } });
        }
        return profile;
    }

    private static void AssertSameStacks(Dictionary<string, long> expected, Dictionary<string, long> actual)
    {
        Assert.Equal(expected.Values.Sum(), actual.Values.Sum());
        Assert.Equal(expected.Count, actual.Count);
        foreach (var (stack, value) in expected)
        {
            Assert.Equal(value, actual.GetValueOrDefault(stack));
        }
    }

    internal static async Task<bool> HasActiveIngesterAsync(PyroscopeProcess process, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/ring");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var response = await process.Http.SendAsync(request, ct);
        if (!response.IsSuccessStatusCode)
        {
            return false;
        }
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
        foreach (var property in json.RootElement.EnumerateObject())
        {
            if (!property.Name.Equals("shards", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            foreach (var shard in property.Value.EnumerateArray())
            {
                foreach (var field in shard.EnumerateObject())
                {
                    if (field.Name.Equals("state", StringComparison.OrdinalIgnoreCase) && field.Value.GetString() == "ACTIVE")
                    {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    private static async Task<PyroscopeProcess?> StartedOrNullAsync(Task<PyroscopeProcess> starting)
    {
        try
        {
            return await starting;
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
        {
            return null;
        }
    }
}
