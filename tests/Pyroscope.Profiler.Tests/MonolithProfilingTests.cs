using System.Net.Http.Headers;
using Google.Protobuf;
using Pyroscope.Contracts.Google.V1;
using Pyroscope.Contracts.Querier.V1;
using Pyroscope.Testing;

namespace Pyroscope.Profiler.Tests;

/// <summary>
/// The .NET paths end to end against the real monolith: a workload profiled by the library pushes to it, and a
/// real dotnet-trace recording is posted to /ingest?format=nettrace; the merged profile the querier returns
/// has the workload's hot method on top with its expected share.
/// </summary>
[Collection(InProcessProfilerCollection.Name)]
public sealed class MonolithProfilingTests(DotnetTraceTool dotnetTrace) : IClassFixture<DotnetTraceTool>
{
    private const string Cpu = "process_cpu:cpu:nanoseconds:cpu:nanoseconds";

    [Fact]
    public async Task A_profiled_workload_shows_its_hot_method_on_top_of_the_merged_profile()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await PyroscopeProcess.StartMonolithAsync();
        await using (var workload = await WorkloadProcess.StartAsync($"--server {server.BaseAddress.ToString().TrimEnd('/')} --app dotnet-workload --seconds 6 --interval-ms 1000", ct))
        {
            Assert.Equal(0, await workload.WaitForExitAsync(ct));
        }

        var cpu = await MergedProfileAsync(server.Http, "{service_name=\"dotnet-workload\", workload=\"test\"}", ct);
        WorkloadAssertions.HotMethodDominates(cpu);
    }

    [Fact]
    public async Task A_real_nettrace_recording_ingested_through_the_api_has_the_workload_methods()
    {
        var ct = TestContext.Current.CancellationToken;
        var trace = Path.Combine(Directory.CreateTempSubdirectory("nettrace-e2e-").FullName, "workload.nettrace");
        await using (var workload = await WorkloadProcess.StartAsync("--seconds 60", ct))
        {
            var (exitCode, output) = await DotnetTraceTool.RunAsync(dotnetTrace.Path,
                $"collect -p {workload.Pid} --profile dotnet-sampled-thread-time --duration 00:00:00:03 -o \"{trace}\"", TimeSpan.FromMinutes(1));
            Assert.True(exitCode == 0, $"dotnet-trace failed: {output}");
        }

        await using var server = await PyroscopeProcess.StartMonolithAsync();
        using var content = new ByteArrayContent(await File.ReadAllBytesAsync(trace, ct));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await server.Http.PostAsync("/ingest?name=nettrace-e2e&format=nettrace&spyName=dotnetspy", content, ct);
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}");

        var cpu = await MergedProfileAsync(server.Http, "{service_name=\"nettrace-e2e\"}", ct);
        // Recorded by dotnet-trace's sampler, not ours: its split carries that sampler's bias.
        WorkloadAssertions.HotMethodDominates(cpu, WorkloadAssertions.DotnetTraceSamplerBias);
    }

    /// <summary>SelectMergeProfile over Connect (binary), polled until the workload's frames are there.</summary>
    private static async Task<PprofStacks> MergedProfileAsync(HttpClient http, string selector, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var request = new SelectMergeProfileRequest { ProfileTypeID = Cpu, LabelSelector = selector, Start = now - 600_000, End = now + 60_000 };
            using var body = new ByteArrayContent(request.ToByteArray());
            body.Headers.ContentType = new MediaTypeHeaderValue("application/proto");
            using var response = await http.PostAsync("/querier.v1.QuerierService/SelectMergeProfile", body, ct);
            var bytes = await response.Content.ReadAsByteArrayAsync(ct);
            Assert.True(response.IsSuccessStatusCode, System.Text.Encoding.UTF8.GetString(bytes));
            var profile = Profile.Parser.ParseFrom(bytes);
            if (profile.Sample.Count > 0)
            {
                var stacks = PprofStacks.From(profile);
                if (stacks.TotalOf(WorkloadAssertions.Hot) > 0 || DateTime.UtcNow > deadline)
                {
                    return stacks;
                }
            }
            Assert.True(DateTime.UtcNow < deadline, "no profile for " + selector);
            await Task.Delay(200, ct);
        }
    }
}
