using Pyroscope.Contracts.Recording.V1;
using Pyroscope.Testing;

namespace Pyroscope.IntegrationTests;

/// <summary>
/// Recording rules across processes, as the AppHost wires them: rules are saved at the querier (which carries
/// tenant-settings), the distributor reads them from there, records what it receives and is the process Prometheus
/// scrapes; the querier answers the same series from the stored profiles. A rule changed at the querier reaches
/// the distributor after its refresh interval.
/// </summary>
public sealed class MicroservicesRecordingRulesTests
{
    [Fact]
    public async Task The_distributor_records_rules_saved_at_the_querier_and_follows_their_changes()
    {
        var ct = TestContext.Current.CancellationToken;
        var fixture = ExpectedStacks.ParsePprof(await File.ReadAllBytesAsync(RepositoryPaths.Fixture("go/go-cpu.pb.gz"), ct));
        var cpuIndex = Enumerable.Range(0, fixture.SampleType.Count).Single(i => ExpectedStacks.SampleType(fixture, i) == "cpu:nanoseconds");
        var total = ExpectedStacks.FromPprof(fixture, cpuIndex).Values.Sum();
        var t0 = fixture.TimeNanos / 1_000_000;
        var shared = Directory.CreateTempSubdirectory("pyroscope-rules-microservices-").FullName;
        await using var redis = await RedisServer.StartAsync();
        string[] common =
        [
            "-self-profiling.disable-push=true", "-ring.store=redis", $"-ring.redis.address={redis.Address}",
            $"-storage.filesystem.dir={shared}",
        ];
        var started = new List<PyroscopeProcess>();
        try
        {
            var ingesterStarting = PyroscopeProcess.StartReadyAsync("Pyroscope.Ingester", common);
            var querier = await PyroscopeProcess.StartReadyAsync("Pyroscope.Querier", [.. common, "-target=querier,tenant-settings"]);
            started.Add(querier);
            started.Add(await ingesterStarting);
            var distributor = await PyroscopeProcess.StartReadyAsync("Pyroscope.Distributor",
                [.. common, $"-tenant-settings.recording-rules.client-address={querier.BaseAddress}", "-tenant-settings.recording-rules.refresh-interval=1s"]);
            started.Add(distributor);
            var timeout = TimeSpan.FromSeconds(120);
            await Task.WhenAll(
                Query.EventuallyAsync(() => MicroservicesTests.HasActiveIngesterAsync(distributor, ct), timeout, "the distributor sees the ingester ACTIVE"),
                Query.EventuallyAsync(() => MicroservicesTests.HasActiveIngesterAsync(querier, ct), timeout, "the querier sees the ingester ACTIVE"));

            var ruleId = await RecordingRulesTests.CreateAsDrilldownAsync(querier.Http, "profiles_recorded_cpu_nanoseconds_total", "checkout", functionName: null, ct);
            await RecordingRulesTests.PushAsync(distributor.Http, fixture, "checkout", t0, ct);
            await RecordingRulesTests.PushAsync(distributor.Http, fixture, "billing", t0, ct);

            var series = $"profiles_recorded_cpu_nanoseconds_total{{profiles_rule_id=\"{ruleId}\"}}";
            var (_, _, page) = await RecordingRulesTests.ScrapeAsync(distributor.Http, ct);
            Assert.Equal(total, RecordingRulesTests.ParseExposition(page)[series]);
            // The querier received no push, so it has recorded nothing.
            var (_, _, querierPage) = await RecordingRulesTests.ScrapeAsync(querier.Http, ct);
            Assert.DoesNotContain(series, querierPage);

            // The querier answers the same total from the profiles the ingester holds.
            var recorded = await RecordingRulesTests.SelectRecordedAsync(querier.Http,
                new SelectRecordedSeriesRequest { RuleId = ruleId, Start = t0 - 10_000, End = t0 + 10_000, Step = 10 }, ct);
            Assert.Equal(total, (long)Assert.Single(recorded.Series).Points.Sum(p => p.Value));

            // Drilldown deletes the rule at the querier; within the refresh interval the distributor stops recording it.
            var (deleted, body) = await RecordingRulesTests.PostJsonAsync(querier.Http, "/settings.v1.RecordingRulesService/DeleteRecordingRule",
                $"{{\"id\":\"{ruleId}\"}}", ct);
            Assert.True(deleted == System.Net.HttpStatusCode.OK, body);
            await Query.EventuallyAsync(async () =>
            {
                var (_, _, current) = await RecordingRulesTests.ScrapeAsync(distributor.Http, ct);
                return !current.Contains(ruleId, StringComparison.Ordinal);
            }, timeout, "the distributor dropped the deleted rule");
        }
        finally
        {
            for (var i = started.Count - 1; i >= 0; i--)
            {
                await started[i].DisposeAsync();
            }
            Directory.Delete(shared, recursive: true);
        }
    }
}
