using Pyroscope.Testing.Fuzzing;

namespace Pyroscope.IntegrationTests.Hostile;

/// <summary>
/// One fuzz test per /ingest format against a real monolith over HTTP (the in-process tests in
/// Pyroscope.Formats.Tests run the volume): no 5xx, no hang, resident memory bounded while the head fills.
/// </summary>
public sealed class IngestFuzzTests(SeededMonolith monolith) : IClassFixture<SeededMonolith>
{
    private const int CiCases = 300;

    /// <summary>What the second half of a run may add to the resident memory: the head's growth, not a leak.</summary>
    private const long GrowthAllowance = 128L << 20;

    public static TheoryData<string> Formats => new(IngestBodies.Formats);

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task Mutated_bodies_never_get_a_5xx(string format)
    {
        var ct = TestContext.Current.CancellationToken;
        var cases = FuzzSettings.Cases(CiCases);
        var test = $"{nameof(IngestFuzzTests)}.{format}-http";
        var statuses = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
        var fromSeconds = monolith.DataMs / 1000;
        async Task<string?> CaseAsync(Random random, int _, CancellationToken token)
        {
            var input = IngestBodies.Create(format, random, fromSeconds);
            using var content = new ByteArrayContent(input.Body);
            if (input.ContentType is not null)
            {
                content.Headers.TryAddWithoutValidation("Content-Type", input.ContentType);
            }
            using var response = await monolith.Server.Http.PostAsync("/ingest?" + input.Query, content, token);
            var text = await response.Content.ReadAsStringAsync(token);
            statuses.AddOrUpdate((int)response.StatusCode, 1, static (_, n) => n + 1);
            return ServerProbe.ProblemWith((int)response.StatusCode, text);
        }

        var half = await FuzzRunner.RunAsync(test, cases / 2, parallelism: 4, CaseAsync, ct);
        Assert.True(half.Failures.Count == 0, half.ToString());
        var middle = ServerProbe.ResidentBytes(monolith.Server);
        var rest = await FuzzRunner.RunAsync(test + ".second-half", cases - cases / 2, parallelism: 4, CaseAsync, ct);
        Assert.True(rest.Failures.Count == 0, rest.ToString());
        var end = ServerProbe.ResidentBytes(monolith.Server);
        var answered = string.Join(", ", statuses.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}×{kv.Value}"));
        TestContext.Current.TestOutputHelper?.WriteLine($"{test}: {cases} cases ({answered}), RSS {ServerProbe.Megabytes(middle)} at half-time, {ServerProbe.Megabytes(end)} at the end");
        Assert.True(end - middle < GrowthAllowance, $"RSS grew from {ServerProbe.Megabytes(middle)} to {ServerProbe.Megabytes(end)} over the second half of {test}");
    }
}
