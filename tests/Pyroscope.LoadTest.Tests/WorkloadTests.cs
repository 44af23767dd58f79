using System.IO.Compression;
using Pyroscope.Contracts.Google.V1;
using Pyroscope.Contracts.Push.V1;
using Pyroscope.LoadTest.Workload;
using Pyroscope.Testing;

namespace Pyroscope.LoadTest.Tests;

public sealed class WorkloadTests
{
    [Fact]
    public void OneCycleOfRequestsHitsEverySeriesOnce()
    {
        var space = new SeriesSpace(services: 7, pods: 3, profiles: 4);
        var seen = new HashSet<(int, int, int)>();
        for (long i = 0; i < space.Combinations; i++)
        {
            Assert.True(seen.Add(space.At(i)), $"request {i} repeats {space.At(i)}");
        }
        Assert.Equal(7 * 3 * 4, seen.Count);
        Assert.Equal(space.At(0), space.At(space.Combinations));
    }

    [Fact]
    public async Task PushRequestsCarryAlloysLabelsAndTheRefreshedFixture()
    {
        await using var fixtures = FixtureSet.Load(RepositoryPaths.Fixtures);
        var workload = new PushWorkload(new SeriesSpace(200, 5, fixtures.Bodies.Count), fixtures.Bodies);
        // Request 21: profile 1 (go-heap), pod 0 of service 1.
        using var request = workload.Create(21, out var bodyBytes);
        var bytes = await request.Content!.ReadAsByteArrayAsync(TestContext.Current.CancellationToken);
        Assert.Equal(bytes.Length, bodyBytes);
        Assert.Equal("application/proto", request.Content.Headers.ContentType!.MediaType);
        var push = PushRequest.Parser.ParseFrom(bytes);
        var series = Assert.Single(push.Series);
        var labels = series.Labels.ToDictionary(l => l.Name, l => l.Value);
        Assert.Equal("memory", labels["__name__"]);
        Assert.Equal("loadtest-svc-001", labels["service_name"]);
        Assert.Equal("svc1-pod-0", labels["pod"]);
        var profile = Gunzip(Assert.Single(series.Samples).RawProfile.ToByteArray());
        Assert.Equal(4, profile.SampleType.Count); // the Go heap profile
        Assert.InRange(profile.TimeNanos, (DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeMilliseconds()) * 1_000_000, (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 1000) * 1_000_000);
    }

    [Fact]
    public async Task IngestRequestsNameTheSeriesInTheQueryAndSendTheGzippedFixture()
    {
        await using var fixtures = FixtureSet.Load(RepositoryPaths.Fixtures);
        var workload = new IngestWorkload(new SeriesSpace(200, 5, fixtures.Bodies.Count), fixtures.Bodies);
        // Request 4 * 5 * 2 + 4 * 3 = 52: service 2, pod 3, profile 0 (go-cpu).
        using var request = workload.Create(52, out var bodyBytes);
        var query = System.Web.HttpUtility.ParseQueryString(request.RequestUri!.OriginalString.Split('?')[1]);
        Assert.Equal("loadtest-svc-002{namespace=ns-2,pod=svc2-pod-3,region=ap-south}", query["name"]);
        Assert.Equal("pprof", query["format"]);
        Assert.Equal("gospy", query["spyName"]);
        var body = await request.Content!.ReadAsByteArrayAsync(TestContext.Current.CancellationToken);
        Assert.Equal(body.Length, bodyBytes);
        var profile = Gunzip(body);
        Assert.Equal(737, profile.Sample.Count); // go-cpu.pb.gz
    }

    private static Profile Gunzip(byte[] bytes)
    {
        using var gzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
        using var plain = new MemoryStream();
        gzip.CopyTo(plain);
        return Profile.Parser.ParseFrom(plain.ToArray());
    }
}
