using Pyroscope.Contracts.Querier.V1;
using Pyroscope.Contracts.Types.V1;
using Pyroscope.Testing;

namespace Pyroscope.IntegrationTests;

/// <summary>Real profiler clients, unchanged, pushing to the running monolith.</summary>
public class RealClientTests(MonolithFixture monolith) : IClassFixture<MonolithFixture>
{
    [Fact]
    public async Task Pyroscope_nodejs_client_profiles_arrive_with_its_hot_function()
    {
        var ct = TestContext.Current.CancellationToken;
        var script = Path.Combine(AppContext.BaseDirectory, "node", "pyroscope-client.js");
        var env = new Dictionary<string, string?> { ["NODE_PATH"] = Path.Combine(RepositoryPaths.Root, "node_modules") };
        await using var client = ExternalProcess.Start("node", [script, monolith.Server.BaseAddress.ToString().TrimEnd('/'), "node-e2e", "6"], RepositoryPaths.Root, env);

        var http = monolith.Server.Http;
        await Query.EventuallyAsync(async () =>
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var values = await Query.ConnectAsync(http, "LabelValues",
                new LabelValuesRequest { Name = "service_name", Start = now - 600_000, End = now + 60_000 }, LabelValuesResponse.Parser, ct);
            return values.Names.Contains("node-e2e");
        }, TimeSpan.FromSeconds(60), "node-e2e in service_name values; client output: " + client.Output);

        // The wall profile carries the burning function's frame.
        await Query.EventuallyAsync(async () =>
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var stacks = await Query.MergedStacksAsync(http, "wall:wall:nanoseconds:wall:nanoseconds", "{service_name=\"node-e2e\", region=\"e2e\"}", now - 600_000, now + 60_000, ct);
            return stacks.Keys.Any(k => k.Contains("burnCpuForPyroscopeTest", StringComparison.Ordinal));
        }, TimeSpan.FromSeconds(60), "burnCpuForPyroscopeTest in the wall profile");
        await client.WaitForExitAsync(TimeSpan.FromSeconds(60));
    }
}
