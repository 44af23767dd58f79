using Google.Protobuf;
using Pyroscope.Contracts.Querier.V1;

namespace Pyroscope.IntegrationTests.Hostile;

/// <summary>The query times that once overflowed range and timeline arithmetic (500s): each is clamped or refused with a 400 naming why.</summary>
public sealed class ExtremeQueryTimeTests(SeededMonolith monolith) : IClassFixture<SeededMonolith>
{
    private const string CpuType = "process_cpu:cpu:nanoseconds:cpu:nanoseconds";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(-9_000_000_000_000_000_000, 0, 400, "max_query_length")] // from 1970 to now: longer than a day
    [InlineData(-9_000_000_000_000_000_000, 9_000_000_000_000_000_000, 400, "max_query_length")]
    [InlineData(long.MinValue, long.MinValue + 1, 200, "")] // before 1970: clamped to an empty range
    [InlineData(9_000_000_000_000_000_000, long.MaxValue, 200, "")] // after 9999: the same
    [InlineData(long.MaxValue, long.MinValue, 400, "start (9223372036854775807) is after end (-9223372036854775808)")]
    public async Task Connect_select_times_at_the_ends_of_int64_are_clamped_or_refused(long start, long end, int status, string message)
    {
        end = end == 0 ? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() : end;
        foreach (var rpc in (string[])["SelectMergeStacktraces", "SelectSeries", "SelectMergeProfile"])
        {
            IMessage request = rpc switch
            {
                "SelectSeries" => new SelectSeriesRequest { ProfileTypeID = CpuType, LabelSelector = "{}", Start = start, End = end, Step = 15 },
                "SelectMergeProfile" => new SelectMergeProfileRequest { ProfileTypeID = CpuType, LabelSelector = "{}", Start = start, End = end },
                _ => new SelectMergeStacktracesRequest { ProfileTypeID = CpuType, LabelSelector = "{}", Start = start, End = end },
            };
            var (answered, body) = await ServerProbe.ConnectAsync(monolith.Server.Http, "/querier.v1.QuerierService/" + rpc, request.ToByteArray(), json: false, tenant: null, Ct);
            Assert.True(answered == status, $"{rpc} answered {answered}: {body}");
            Assert.Contains(message, body);
        }
    }

    [Theory]
    [InlineData("from=now-106751991167d", 400, "max_query_length")] // exact, far before 1970: clamped, then too long
    [InlineData("from=now%2B9223372036854775s", 400, "invalid from")] // overflows int64 milliseconds
    [InlineData("from=now-106751991168d", 400, "invalid from")]
    [InlineData("until=99999999999999999999", 400, "invalid until")]
    [InlineData("from=1&until=2", 200, "")]
    public async Task Legacy_render_times_that_overflow_are_refused_and_far_ones_clamped(string range, int status, string message)
    {
        using var response = await monolith.Server.Http.GetAsync($"/pyroscope/render?query={Uri.EscapeDataString(CpuType + "{}")}&{range}", Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True((int)response.StatusCode == status, $"render?{range} answered {(int)response.StatusCode}: {body}");
        Assert.Contains(message, body);
    }

    [Fact]
    public async Task Metadata_queries_over_all_representable_time_answer()
    {
        using var response = await monolith.Server.Http.GetAsync("/pyroscope/label-values?label=service_name&from=now-106751991167d&until=now%2B106751991d", Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.IsSuccessStatusCode, body);
        Assert.Contains("go-app", body);
    }
}
