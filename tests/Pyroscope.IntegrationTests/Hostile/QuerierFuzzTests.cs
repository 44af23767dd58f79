using Pyroscope.Testing.Fuzzing;

namespace Pyroscope.IntegrationTests.Hostile;

/// <summary>
/// One fuzz test per querier.v1 RPC against a real monolith over Connect (proto and JSON, some JSON mangled):
/// no 5xx, no hang, and the server's memory does not keep growing from the first half of the run to the second.
/// </summary>
public sealed class QuerierFuzzTests(SeededMonolith monolith) : IClassFixture<SeededMonolith>
{
    private const int CiCases = 1500;

    /// <summary>Resident memory the second half of a run may add to the first half's: the heap settling, not a leak.</summary>
    private const long GrowthAllowance = 96L << 20;

    public static TheoryData<string> Rpcs => new(QueryRequests.Methods);

    [Theory]
    [MemberData(nameof(Rpcs))]
    public async Task Generated_requests_never_get_a_5xx_and_memory_stays_flat(string rpc)
    {
        var ct = TestContext.Current.CancellationToken;
        var requests = new QueryRequests(monolith.DataMs);
        var http = monolith.Server.Http;
        var cases = FuzzSettings.Cases(CiCases);
        var test = $"{nameof(QuerierFuzzTests)}.{rpc}";
        var statuses = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
        var half = await FuzzRunner.RunAsync(test, cases / 2, parallelism: 4, (random, _, token) => CaseAsync(http, rpc, requests, random, statuses, token), ct);
        Assert.True(half.Failures.Count == 0, half.ToString());
        var middle = ServerProbe.ResidentBytes(monolith.Server);
        var rest = await FuzzRunner.RunAsync(test + ".second-half", cases - cases / 2, parallelism: 4, (random, _, token) => CaseAsync(http, rpc, requests, random, statuses, token), ct);
        Assert.True(rest.Failures.Count == 0, rest.ToString());
        var end = ServerProbe.ResidentBytes(monolith.Server);
        var answered = string.Join(", ", statuses.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}×{kv.Value}"));
        TestContext.Current.TestOutputHelper?.WriteLine($"{test}: {cases} cases ({answered}), RSS {ServerProbe.Megabytes(middle)} at half-time, {ServerProbe.Megabytes(end)} at the end");
        // Most generated requests must get through validation, or the fuzzing only exercises the refusals.
        Assert.True(statuses.GetValueOrDefault(200) > cases / 10, $"only {statuses.GetValueOrDefault(200)} of {cases} answered 200 ({answered})");
        Assert.True(end - middle < GrowthAllowance, $"RSS grew from {ServerProbe.Megabytes(middle)} to {ServerProbe.Megabytes(end)} over the second half of {test}");
    }

    private static async Task<string?> CaseAsync(HttpClient http, string rpc, QueryRequests requests, Random random, System.Collections.Concurrent.ConcurrentDictionary<int, int> statuses, CancellationToken ct)
    {
        var message = requests.Create(rpc, random);
        var json = random.Next(4) == 0;
        var body = ServerProbe.Encode(message, json);
        if (json && random.Next(4) == 0)
        {
            body = JsonMutator.Mutate(System.Text.Encoding.UTF8.GetString(body), random);
        }
        else if (!json && random.Next(10) == 0)
        {
            body = ByteMutator.Mutate(body, random);
        }
        var (status, text) = await ServerProbe.ConnectAsync(http, "/querier.v1.QuerierService/" + rpc, body, json, tenant: null, ct);
        statuses.AddOrUpdate(status, 1, static (_, n) => n + 1);
        return ServerProbe.ProblemWith(status, text);
    }
}
