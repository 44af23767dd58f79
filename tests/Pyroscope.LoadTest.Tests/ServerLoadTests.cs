using System.Globalization;
using System.Text.Json;
using Pyroscope.LoadTest.Cli;
using Pyroscope.LoadTest.Load;
using Pyroscope.LoadTest.Runs;
using Pyroscope.LoadTest.Servers;
using Pyroscope.LoadTest.Workload;
using Microsoft.Extensions.Logging.Abstractions;
using Pyroscope.Storage.Wal;

namespace Pyroscope.LoadTest.Tests;

/// <summary>
/// The harness against real processes: every request the generator counts reached the server (the null server
/// counts what it gunzipped; the monolith has the series afterwards), and every process it started is gone after.
/// </summary>
public sealed class ServerLoadTests
{
    [Theory]
    [InlineData(ScenarioNames.IngestSmall, NullWork.Gunzip)]
    [InlineData(ScenarioNames.PushSmall, NullWork.Gunzip)]
    [InlineData(ScenarioNames.IngestSmall, NullWork.Wal)]
    [InlineData(ScenarioNames.PushSmall, NullWork.Wal)]
    [InlineData(ScenarioNames.IngestSmall, NullWork.PprofRead)]
    [InlineData(ScenarioNames.IngestSmall, NullWork.PprofReadAndWal)]
    public async Task TheNullServerGunzipsExactlyWhatTheGeneratorCounted(string scenarioName, NullWork work)
    {
        var ct = TestContext.Current.CancellationToken;
        var options = LoadTestOptions.Parse(["compare", "--services", "3", "--pods", "2"]);
        await using var context = new RunContext(options);
        var scenario = context.Scenario(scenarioName, options);
        await using var server = await NullServerProcess.StartAsync(ct, work, context.DataRoot);
        using var generator = new LoadGenerator(server.Address, scenario.Workload, connections: 4);
        using var stop = new CancellationTokenSource();
        generator.StartRecording();
        var running = generator.RunAsync(stop.Token);
        await Task.Delay(TimeSpan.FromSeconds(1), ct);
        await stop.CancelAsync();
        await running; // every request sent has been answered
        var result = generator.StopRecording();

        Assert.Equal(0, result.Errors);
        Assert.True(result.Profiles > 0);
        using var http = new HttpClient { BaseAddress = server.Address };
        var metrics = await http.GetStringAsync("/metrics", ct);
        Assert.Equal(result.Profiles, Counter(metrics, "null_server_profiles_total"));
        // Request n carries fixture n mod 4; every fixture's raw size is fixed (time_nanos is always a 9-byte varint).
        long expectedRaw = 0;
        for (var f = 0; f < context.Fixtures.Bodies.Count; f++)
        {
            var count = (result.Profiles - f + context.Fixtures.Bodies.Count - 1) / context.Fixtures.Bodies.Count;
            expectedRaw += count * context.Fixtures.Bodies[f].RawSize;
        }
        Assert.Equal(expectedRaw, Counter(metrics, "null_server_decompressed_bytes_total"));
        if (work.HasFlag(NullWork.Wal))
        {
            // Every answered request is a record of the log, readable after the process is killed (each carries one profile).
            await server.DisposeAsync();
            long records = 0;
            await using (WriteAheadLog.Open(server.WalDirectory!, fsync: false, NullLogger.Instance, out var segments))
            {
                foreach (var segment in segments)
                {
                    records += WriteAheadLog.ReadSegment(server.WalDirectory!, segment, NullLogger.Instance).Count();
                }
            }
            Assert.Equal(result.Profiles, records);
        }
    }

    [Fact]
    public async Task AMonolithPhaseStoresTheSeriesAndCountsItsCost()
    {
        var ct = TestContext.Current.CancellationToken;
        var options = LoadTestOptions.Parse(["compare", "--services", "3", "--pods", "2"]);
        await using var context = new RunContext(options);
        var scenario = context.Scenario(ScenarioNames.IngestSmall, options);
        await using var server = (MonolithServer)await context.StartMonolithAsync(context.Settings(options), ct);
        var result = await Phase.RunAsync(server, new PhasePlan(scenario.Workload, 2, TimeSpan.Zero, TimeSpan.FromSeconds(2)), ct);

        Assert.Equal(0, result.Load.Errors);
        Assert.True(result.Load.Profiles > 0);
        Assert.True(result.AllocatedBytesPerProfile > 0, "allocations come from the server's /metrics");
        Assert.True(result.RssPeakBytes > 0 && result.ServerCpuCores > 0);
        using var response = await server.Http.GetAsync("/pyroscope/label-values?label=service_name", ct);
        var services = JsonSerializer.Deserialize<string[]>(await response.Content.ReadAsStringAsync(ct))!;
        Assert.Contains("loadtest-svc-000", services);
    }

    [Fact]
    public async Task MicroservicesModeRunsDistributorAndIngesterOnARedisRingAndStopsThemAll()
    {
        var ct = TestContext.Current.CancellationToken;
        var options = LoadTestOptions.Parse(["compare", "--services", "3", "--pods", "2"]);
        await using var context = new RunContext(options);
        var scenario = context.Scenario(ScenarioNames.Microservices, options);
        var server = await scenario.StartAsync(ct);
        IReadOnlyList<int> pids;
        try
        {
            pids = server.ProcessIds;
            Assert.Equal(2, pids.Count);
            var result = await Phase.RunAsync(server, new PhasePlan(scenario.Workload, 2, TimeSpan.Zero, TimeSpan.FromSeconds(2)), ct);
            Assert.Equal(0, result.Load.Errors);
            Assert.True(result.Load.Profiles > 0);
        }
        finally
        {
            await server.DisposeAsync();
        }
        foreach (var pid in pids)
        {
            Assert.False(File.Exists($"/proc/{pid}/status") && !File.ReadAllText($"/proc/{pid}/status").Contains("zombie", StringComparison.Ordinal), $"process {pid} still runs");
        }
    }

    private static long Counter(string metrics, string name)
    {
        foreach (var line in metrics.Split('\n'))
        {
            if (line.StartsWith(name + " ", StringComparison.Ordinal))
            {
                return long.Parse(line[(name.Length + 1)..].Trim(), CultureInfo.InvariantCulture);
            }
        }
        throw new InvalidOperationException($"{name} not in /metrics:\n{metrics}");
    }
}
