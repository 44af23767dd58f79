using System.Collections.Concurrent;
using System.Net;
using Pyroscope.Testing;

namespace Pyroscope.IntegrationTests;

/// <summary>
/// The ingester's data directory on a real, small filesystem that runs full: a push the WAL cannot take is answered
/// 503 "insufficient storage" naming the directory and leaves no trace; everything acknowledged before, during and
/// after the outage survives SIGKILL and a restart; the outage shows in /services and /metrics while it lasts.
/// </summary>
public class DiskFullTests
{
    private const string Service = "disk-full";

    [Fact]
    public async Task Acknowledged_pushes_survive_a_full_disk_and_sigkill_and_refused_ones_leave_no_trace()
    {
        var ct = TestContext.Current.CancellationToken;
        using var disk = TmpfsMount.TryMount(8 << 20, out var reason);
        Assert.SkipWhen(disk is null, reason);
        var dataPath = Path.Combine(disk!.Path, "data");
        var home = Directory.CreateTempSubdirectory("pyroscope-disk-full-").FullName;
        string[] arguments = ["-self-profiling.disable-push=true", $"-pyroscopedb.data-path={dataPath}"];
        var acked = new ConcurrentDictionary<int, bool>();
        var refused = new ConcurrentDictionary<int, string>();
        var sequence = 0;
        try
        {
            await using (var server = await PyroscopeProcess.StartReadyAsync("Pyroscope.All", arguments, home))
            {
                for (var i = 0; i < 20; i++)
                {
                    await PushAsync(server, Interlocked.Increment(ref sequence), acked, refused, ct);
                }
                Assert.Equal(20, acked.Count);

                disk.Fill("filler", leaveBytes: 16 * 1024);
                var writers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
                {
                    // The WAL file is zero-filled ahead of its records (≥ 256 KiB reserved): those fill first.
                    for (var n = 0; n < 1000 && refused.Count < 12; n++)
                    {
                        await PushAsync(server, Interlocked.Increment(ref sequence), acked, refused, ct);
                    }
                }, ct)).ToArray();
                await Task.WhenAll(writers);
                Assert.True(refused.Count >= 12, $"the disk never ran full: {acked.Count} acknowledged, {refused.Count} refused");
                Assert.All(refused.Values, body =>
                {
                    Assert.Contains("insufficient storage", body);
                    Assert.Contains(Path.Combine(dataPath, "wal"), body);
                });

                var services = await server.Http.GetStringAsync("/services", ct);
                Assert.Contains("wal Unhealthy: the write-ahead log at " + Path.Combine(dataPath, "wal"), services);
                var metrics = await server.Http.GetStringAsync("/metrics", ct);
                Assert.Equal(0, Metric(metrics, "pyroscope_ingester_wal_writable"));
                Assert.True(Metric(metrics, "pyroscope_ingester_wal_disk_full_total") > 0, metrics);
                Assert.True(Metric(metrics, "pyroscope_ingester_refused_pushes_total") >= refused.Count);

                // Nothing refused is in the head; everything acknowledged is.
                await AssertStoredAsync(server, acked.Keys, refused.Keys, ct);

                File.Delete(Path.Combine(disk.Path, "filler"));
                for (var i = 0; i < 30; i++)
                {
                    var id = Interlocked.Increment(ref sequence);
                    await PushAsync(server, id, acked, refused, ct);
                    Assert.True(acked.ContainsKey(id), $"push {id} after space returned was refused: {refused.GetValueOrDefault(id)}");
                }
                Assert.DoesNotContain("wal Unhealthy", await server.Http.GetStringAsync("/services", ct));
                // Polled: the Prometheus exporter serves a cached scrape for 300 ms, and 30 pushes on tmpfs can take less.
                await Poll.UntilAsync(async () => Metric(await server.Http.GetStringAsync("/metrics", ct), "pyroscope_ingester_wal_writable") == 1,
                    "/metrics shows the WAL writable again");
                server.Kill();
            }

            await using var restarted = await PyroscopeProcess.StartReadyAsync("Pyroscope.All", arguments, home);
            await AssertStoredAsync(restarted, acked.Keys, refused.Keys, ct);
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    private static async Task PushAsync(PyroscopeProcess server, int id, ConcurrentDictionary<int, bool> acked, ConcurrentDictionary<int, string> refused, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        // About 1 KB, so that the space the WAL reserved ahead runs out after a few hundred pushes.
        var text = new System.Text.StringBuilder($"main;work;push_{id} {id}\n");
        for (var pad = 0; pad < 24; pad++)
        {
            text.Append("main;padding;frame_").Append(pad).Append("_of_push_").Append(id).Append(" 1\n");
        }
        using var body = new StringContent(text.ToString());
        using var response = await server.Http.PostAsync($"/ingest?name={Service}.cpu&from={now - 10}&until={now}&sampleRate=100", body, ct);
        var answer = await response.Content.ReadAsStringAsync(ct);
        if (response.StatusCode == HttpStatusCode.OK)
        {
            acked[id] = true;
        }
        else
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            refused[id] = answer;
        }
    }

    private static async Task AssertStoredAsync(PyroscopeProcess server, ICollection<int> acked, ICollection<int> refused, CancellationToken ct)
    {
        var end = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 60_000;
        var stacks = await Query.MergedStacksAsync(server.Http, "process_cpu:cpu:nanoseconds:cpu:nanoseconds", $"{{service_name=\"{Service}\"}}", end - 3_600_000, end, ct);
        var first = acked.First();
        var unit = stacks["main;work;push_" + first] / first;
        foreach (var id in acked)
        {
            Assert.True(stacks.TryGetValue("main;work;push_" + id, out var value), $"acknowledged push {id} is missing ({acked.Count} acknowledged, {refused.Count} refused)");
            Assert.Equal(id * unit, value);
        }
        foreach (var id in refused)
        {
            Assert.False(stacks.ContainsKey("main;work;push_" + id), $"refused push {id} is stored");
        }
    }

    /// <summary>The sum of a metric's samples in Prometheus text, whatever their labels.</summary>
    private static double Metric(string text, string name)
    {
        double sum = 0;
        var found = false;
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(name, StringComparison.Ordinal) || (line.Length > name.Length && line[name.Length] is not ('{' or ' ')))
            {
                continue;
            }
            var rest = line[name.Length..];
            if (rest.StartsWith('{'))
            {
                rest = rest[(rest.IndexOf('}') + 1)..];
            }
            sum += double.Parse(rest.Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
            found = true;
        }
        return found ? sum : throw new InvalidOperationException($"metric {name} not found in:\n{text}");
    }
}
