using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using Pyroscope.Contracts.Querier.V1;
using Pyroscope.Testing;
using Pyroscope.Testing.Fuzzing;

namespace Pyroscope.IntegrationTests.Hostile;

/// <summary>
/// The shapes that once took gigabytes, sent together to one real monolith (multitenancy on, default limits):
/// series amplification, 1 GiB gzip bombs on /ingest, Connect push, querier and settings, bombs without a
/// tenant, pushes whose protobuf framing claims huge fields, and catastrophic-backtracking regex queries.
/// The process stays under <see cref="RssBound"/> throughout, every hostile request gets its 4xx, and a normal
/// push and query of another tenant succeed during and after the storm.
/// </summary>
public sealed class MemoryBoundTests : IAsyncLifetime
{
    /// <summary>
    /// Resident memory the server may reach while the storm runs. Six 1 GiB bombs once left it at 2.4–5.5 GB and
    /// one amplification profile took 4 GB; with every body read only up to where it is certain to be refused and
    /// series counted before expansion, the storm measured ≈ 300 MB (from ≈ 100 MB idle) on a 2-core machine.
    /// </summary>
    private const long RssBound = 640L << 20;

    private const int Bombs = 6;

    private PyroscopeProcess _server = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await PyroscopeProcess.StartMonolithAsync(["-auth.multitenancy-enabled=true"]);
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Fact]
    public async Task Amplification_and_bomb_shapes_sent_together_stay_under_the_bound_and_the_server_keeps_serving()
    {
        var ct = TestContext.Current.CancellationToken;
        var nowMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await PushFoldedAsync("victim", "backtrack.cpu{pattern=" + new string('a', 40) + "c}", nowMs, ct);
        var baseline = ServerProbe.ResidentBytes(_server);

        var bomb = HostileBodies.GzipZeros(1L << 30);
        var framedPush = HostileBodies.GzipPushWithHugeRawProfile(64L << 20);
        var amplification = PprofMutator.Gzip(HostileBodies.DistinctLabelPerSample(16_000, nowMs * 1_000_000).ToByteArray());

        using var sampling = new CancellationTokenSource();
        var peak = ServerProbe.SamplePeakAsync(_server, sampling.Token);
        var storm = new List<Task<(string What, int Status)>>();
        for (var i = 0; i < Bombs; i++)
        {
            storm.Add(SendAsync("amplification", "/ingest?name=amp&format=pprof", amplification, "application/octet-stream", null, "attacker", ct));
            storm.Add(SendAsync("ingest bomb", "/ingest?name=bomb&format=pprof", bomb, "application/octet-stream", "gzip", "attacker", ct));
            storm.Add(SendAsync("push bomb", "/push.v1.PusherService/Push", bomb, "application/proto", "gzip", "attacker", ct));
            storm.Add(SendAsync("querier bomb", "/querier.v1.QuerierService/SelectMergeStacktraces", bomb, i % 2 == 0 ? "application/proto" : "application/json", "gzip", "attacker", ct));
            storm.Add(SendAsync("settings bomb", "/settings.v1.SettingsService/Set", bomb, "application/json", "gzip", "attacker", ct));
            storm.Add(SendAsync("querier bomb without tenant", "/querier.v1.QuerierService/SelectMergeStacktraces", bomb, "application/json", "gzip", null, ct));
            storm.Add(SendAsync("settings bomb without tenant", "/settings.v1.SettingsService/Get", bomb, "application/json", "gzip", null, ct));
        }
        for (var i = 0; i < 2; i++)
        {
            storm.Add(SendAsync("framed push", "/push.v1.PusherService/Push", framedPush, "application/proto", "gzip", "attacker", ct));
        }
        for (var i = 0; i < 16; i++)
        {
            storm.Add(RegexQueryAsync(nowMs, ct));
        }
        // Another tenant's ordinary traffic, while all of that is in flight.
        var during = NormalTrafficAsync("bystander", nowMs, ct);

        var results = await Task.WhenAll(storm);
        await during;
        await sampling.CancelAsync();
        var (peakBytes, samples) = await peak;
        await NormalTrafficAsync("after", nowMs, ct);

        var expected = new Dictionary<string, int>
        {
            ["amplification"] = 429,
            ["ingest bomb"] = 413,
            ["push bomb"] = 400,
            ["querier bomb"] = -1, // 400 for proto (zeros are no message), 413 for JSON (inflated to the 4 MiB limit)
            ["settings bomb"] = 413,
            ["querier bomb without tenant"] = 401,
            ["settings bomb without tenant"] = 401,
            ["framed push"] = 413,
            ["regex query"] = 200,
        };
        foreach (var (what, status) in results)
        {
            if (expected[what] == -1)
            {
                Assert.True(status is 400 or 413, $"{what} answered {status}");
            }
            else
            {
                Assert.True(expected[what] == status, $"{what} answered {status}, expected {expected[what]}");
            }
        }
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"RSS: {ServerProbe.Megabytes(baseline)} before, peak {ServerProbe.Megabytes(peakBytes)} over {samples} samples, {ServerProbe.Megabytes(ServerProbe.ResidentBytes(_server))} after");
        Assert.True(peakBytes < RssBound, $"RSS peaked at {ServerProbe.Megabytes(peakBytes)}, over the bound of {ServerProbe.Megabytes(RssBound)} (baseline {ServerProbe.Megabytes(baseline)})");
    }

    private async Task<(string What, int Status)> SendAsync(string what, string path, byte[] body, string contentType, string? encoding, string? tenant, CancellationToken ct)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        if (encoding is not null)
        {
            content.Headers.ContentEncoding.Add(encoding);
        }
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        if (path.Contains(".v1.", StringComparison.Ordinal))
        {
            request.Headers.Add("Connect-Protocol-Version", "1");
        }
        if (tenant is not null)
        {
            request.Headers.Add("X-Scope-OrgID", tenant);
        }
        try
        {
            using var response = await _server.Http.SendAsync(request, ct);
            return (what, (int)response.StatusCode);
        }
        catch (HttpRequestException)
        {
            // The server may answer and close before the client finished sending a large body; the status was
            // then an early refusal (the only way it answers before reading everything).
            return (what, -2);
        }
    }

    private async Task<(string What, int Status)> RegexQueryAsync(long nowMs, CancellationToken ct)
    {
        var request = new SelectMergeStacktracesRequest
        {
            ProfileTypeID = "process_cpu:cpu:nanoseconds:cpu:nanoseconds",
            LabelSelector = "{pattern=~\"(a+)+b\"}",
            Start = nowMs - 3_600_000,
            End = nowMs + 60_000,
        };
        var (status, _) = await ServerProbe.ConnectAsync(_server.Http, "/querier.v1.QuerierService/SelectMergeStacktraces", request.ToByteArray(), json: false, "victim", ct);
        return ("regex query", status);
    }

    /// <summary>A push and a query of its data by an unrelated tenant: both must succeed, with the right total.</summary>
    private async Task NormalTrafficAsync(string tenant, long nowMs, CancellationToken ct)
    {
        await PushFoldedAsync(tenant, "normal.cpu{env=prod}", nowMs, ct);
        var request = new SelectMergeStacktracesRequest
        {
            ProfileTypeID = "process_cpu:cpu:nanoseconds:cpu:nanoseconds",
            LabelSelector = "{service_name=\"normal\"}",
            Start = nowMs - 3_600_000,
            End = nowMs + 60_000,
        };
        var (status, body) = await ServerProbe.ConnectAsync(_server.Http, "/querier.v1.QuerierService/SelectMergeStacktraces", request.ToByteArray(), json: false, tenant, ct);
        Assert.True(status == 200, $"{tenant}'s query answered {status}: {body}");
    }

    private async Task PushFoldedAsync(string tenant, string name, long nowMs, CancellationToken ct)
    {
        using var content = new ByteArrayContent(File.ReadAllBytes(RepositoryPaths.Fixture("folded/go-cpu-nanoseconds.folded")));
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/ingest?name={Uri.EscapeDataString(name)}&from={nowMs / 1000}&until={nowMs / 1000 + 10}") { Content = content };
        request.Headers.Add("X-Scope-OrgID", tenant);
        using var response = await _server.Http.SendAsync(request, ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{tenant}'s push answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}");
    }
}
