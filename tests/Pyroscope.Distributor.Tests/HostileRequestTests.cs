using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Pyroscope.Testing.Fuzzing;

namespace Pyroscope.Distributor.Tests;

/// <summary>
/// Requests shaped to take memory or hold a connection: each gets a 4xx naming what was wrong, from a real
/// Kestrel over loopback (raw sockets where the shape is in the framing: chunked bodies, a body that stalls).
/// </summary>
public sealed class HostileRequestTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<(HttpStatusCode Status, string Code, string Message)> ErrorOf(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync(Ct);
        using var json = JsonDocument.Parse(text);
        return (response.StatusCode, json.RootElement.GetProperty("code").GetString()!, json.RootElement.GetProperty("message").GetString()!);
    }

    [Fact]
    public async Task A_chunked_body_over_the_limit_is_413_not_408()
    {
        var config = DistributorHost.DefaultConfig();
        config["limits:ingestion_body_limit_mb"] = "1";
        await using var host = await DistributorHost.StartAsync(config);
        using var client = new TcpClient();
        await client.ConnectAsync(host.HttpAddress.Host, host.HttpAddress.Port, Ct);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST /ingest?name=app HTTP/1.1\r\nHost: {host.HttpAddress.Authority}\r\nTransfer-Encoding: chunked\r\n\r\n"), Ct);
        var response = ReadResponseAsync(stream);
        var chunk = Encoding.ASCII.GetBytes($"{64 * 1024:x}\r\n" + new string('a', 64 * 1024) + "\r\n");
        // Up to 300 MB, stopping as soon as the server has answered (it must, long before).
        for (var sent = 0L; sent < 300L << 20 && !response.IsCompleted; sent += 64 * 1024)
        {
            try
            {
                await stream.WriteAsync(chunk, Ct);
            }
            catch (IOException)
            {
                break; // the server closed the connection after answering
            }
        }
        var (status, body) = await response;
        Assert.Equal(413, status);
        Assert.Contains("request body too large: exceeds the limit of 1048576 bytes (ingestion_body_limit_mb)", body);
    }

    [Fact]
    public async Task A_connect_deadline_that_expires_while_the_body_arrives_is_408_deadline_exceeded()
    {
        await using var host = await DistributorHost.StartAsync();
        using var client = new TcpClient();
        await client.ConnectAsync(host.HttpAddress.Host, host.HttpAddress.Port, Ct);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"POST /push.v1.PusherService/Push HTTP/1.1\r\nHost: {host.HttpAddress.Authority}\r\nContent-Type: application/proto\r\n" +
            "Connect-Protocol-Version: 1\r\nConnect-Timeout-Ms: 200\r\nContent-Length: 1000\r\n\r\n0123456789"), Ct);
        // The rest of the body never comes: the deadline, not Kestrel's minimum data rate, ends the request.
        var (status, body) = await ReadResponseAsync(stream);
        Assert.Equal(408, status);
        Assert.Contains("\"code\":\"deadline_exceeded\"", body);
        Assert.Contains("Connect-Timeout-Ms deadline expired while the request body was arriving", body);
        Assert.Empty(host.Ingester.Pushes);
    }

    [Fact]
    public async Task A_content_encoding_bomb_on_ingest_stops_at_one_profile_and_one_side_car()
    {
        await using var host = await DistributorHost.StartAsync();
        using var content = new ByteArrayContent(HostileBodies.GzipZeros(1L << 30));
        content.Headers.ContentEncoding.Add("gzip");
        using var response = await host.Client.PostAsync("/ingest?name=app&format=pprof", content, Ct);
        var (status, code, message) = await ErrorOf(response);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal("resource_exhausted", code);
        Assert.Contains($"decompressed request body exceeds the limit of {2 * 4194304 + 65536} bytes (twice max_profile_size_bytes plus form framing", message);
    }

    [Fact]
    public async Task A_connect_push_bomb_is_parsed_as_it_inflates_and_stops_where_it_could_never_be_accepted()
    {
        await using var host = await DistributorHost.StartAsync();

        // Zeros are not protobuf: refused at the first byte, nothing inflated.
        var zeros = await ConnectPushAsync(host, HostileBodies.GzipZeros(1L << 30));
        Assert.Equal(HttpStatusCode.BadRequest, zeros.Status);
        Assert.Contains("unmarshal PushRequest (proto)", zeros.Message);

        // Valid protobuf framing around 64 MB of zeros: inflated only up to the burst (2 MiB) and a margin, since
        // the rate limiter never admits a push larger than its burst.
        var framed = await ConnectPushAsync(host, HostileBodies.GzipPushWithHugeRawProfile(64L << 20));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, framed.Status);
        Assert.Contains($"decompressed request body exceeds the limit of {(2 << 20) + (2 << 20) / 64 + (1 << 20)} bytes (ingestion_burst_size_mb: a push larger than the burst is never accepted)", framed.Message);
        Assert.Empty(host.Ingester.Pushes);
    }

    [Fact]
    public async Task Without_rate_limiting_a_connect_push_bomb_stops_at_the_body_limit()
    {
        var config = DistributorHost.DefaultConfig();
        config["limits:ingestion_rate_mb"] = "0";
        config["limits:ingestion_body_limit_mb"] = "8";
        await using var host = await DistributorHost.StartAsync(config);
        var framed = await ConnectPushAsync(host, HostileBodies.GzipPushWithHugeRawProfile(64L << 20));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, framed.Status);
        Assert.Contains("decompressed request body exceeds the limit of 8388608 bytes (ingestion_body_limit_mb)", framed.Message);
    }

    [Theory]
    [InlineData("jfr")]
    [InlineData("nettrace")]
    [InlineData("speedscope")]
    [InlineData("pprof")]
    public async Task Raw_bodies_of_every_format_obey_max_profile_size_bytes(string format)
    {
        var config = DistributorHost.DefaultConfig();
        config["limits:max_profile_size_bytes"] = "1000";
        await using var host = await DistributorHost.StartAsync(config);
        using var response = await host.Client.PostAsync($"/ingest?name=app&format={format}", new ByteArrayContent(new byte[5000]), Ct);
        var (status, code, message) = await ErrorOf(response);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal("resource_exhausted", code);
        Assert.Contains($"{format}: the profile is 5000 bytes, more than the limit of 1000 bytes (max_profile_size_bytes)", message);
    }

    [Fact]
    public async Task A_profile_that_splits_into_more_series_than_the_tenant_may_hold_is_429_before_normalising()
    {
        await using var host = await DistributorHost.StartAsync();
        var profile = HostileBodies.DistinctLabelPerSample(16_000, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000);
        var body = PprofMutator.Gzip(profile.ToByteArray());
        Assert.True(body.Length < 128 * 1024, $"the shape is a small request ({body.Length} bytes)");
        using var response = await host.Client.PostAsync("/ingest?name=app&format=pprof", new ByteArrayContent(body), Ct);
        var (status, code, message) = await ErrorOf(response);
        Assert.Equal(HttpStatusCode.TooManyRequests, status);
        Assert.Equal("resource_exhausted", code);
        Assert.Contains("would create 32000 series, more than max_global_series_per_tenant=5000 allows", message);
        Assert.Empty(host.Ingester.Pushes);
    }

    private static async Task<(HttpStatusCode Status, string Message)> ConnectPushAsync(DistributorHost host, byte[] gzipBody)
    {
        using var content = new ByteArrayContent(gzipBody);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/proto");
        content.Headers.ContentEncoding.Add("gzip");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/push.v1.PusherService/Push") { Content = content };
        request.Headers.Add("Connect-Protocol-Version", "1");
        using var response = await host.Client.SendAsync(request, Ct);
        var (status, _, message) = await ErrorOf(response);
        return (status, message);
    }

    /// <summary>Reads one HTTP/1.1 response (status and the body that follows the headers) from a raw connection.</summary>
    private static async Task<(int Status, string Body)> ReadResponseAsync(NetworkStream stream)
    {
        var received = new MemoryStream();
        var buffer = new byte[8192];
        while (true)
        {
            var text = Encoding.UTF8.GetString(received.GetBuffer(), 0, (int)received.Length);
            var headerEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (headerEnd >= 0)
            {
                var length = ContentLength(text[..headerEnd]);
                if (length is null || text.Length - headerEnd - 4 >= length)
                {
                    return (int.Parse(text.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture), text[(headerEnd + 4)..]);
                }
            }
            var read = await stream.ReadAsync(buffer, Ct);
            if (read == 0)
            {
                return (int.Parse(text.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture), headerEnd >= 0 ? text[(headerEnd + 4)..] : "");
            }
            received.Write(buffer, 0, read);
        }
    }

    private static int? ContentLength(string headers)
    {
        foreach (var line in headers.Split("\r\n"))
        {
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
            {
                return int.Parse(line.AsSpan(15).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        return null;
    }
}
