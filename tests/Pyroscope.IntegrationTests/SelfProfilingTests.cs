using Pyroscope.Testing;

namespace Pyroscope.IntegrationTests;

/// <summary>
/// Upstream's first-run experience: a monolith with self-profiling on (the default) pushes its own
/// cpu and wall profiles to its own /ingest, and they are queryable as service "pyroscope".
/// </summary>
public sealed class SelfProfilingTests
{
    [Fact]
    public async Task A_monolith_profiles_itself_and_serves_its_own_flame_graph()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await PyroscopeProcess.StartReadyAsync("Pyroscope.All", ["-self-profiling.upload-interval=1s"]);
        var start = DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeMilliseconds();

        Dictionary<string, long> cpu = [];
        Dictionary<string, long> wall = [];
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(TimeSpan.FromSeconds(60));
        while (cpu.Count == 0 || wall.Count == 0)
        {
            await Task.Delay(250, deadline.Token);
            var end = DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds();
            cpu = await Query.MergedStacksAsync(server.Http, "process_cpu:cpu:nanoseconds:cpu:nanoseconds", "{service_name=\"pyroscope\"}", start, end, deadline.Token);
            wall = await Query.MergedStacksAsync(server.Http, "wall:wall:nanoseconds:wall:nanoseconds", "{service_name=\"pyroscope\"}", start, end, deadline.Token);
        }

        // Managed frames named Namespace.Type.Method: every .NET thread starts in System.Threading.
        Assert.Contains(wall.Keys, stack => stack.StartsWith("System.Threading.", StringComparison.Ordinal));
        Assert.All(cpu.Values, value => Assert.True(value > 0));
        Assert.True(wall.Values.Sum() >= cpu.Values.Sum(), "wall time below cpu time");
    }
}
