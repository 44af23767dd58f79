using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Pyroscope.Contracts.Settings.V1;
using Pyroscope.Testing;

namespace Pyroscope.IntegrationTests;

/// <summary>settings.v1 as Grafana's Profiles Drilldown app calls it (settingsApiClient.ts), against real processes.</summary>
public class TenantSettingsTests
{
    private const string GetPath = "/settings.v1.SettingsService/Get";
    private const string SetPath = "/settings.v1.SettingsService/Set";
    private const string DeletePath = "/settings.v1.SettingsService/Delete";

    private static readonly string[] Quiet = ["-self-profiling.disable-push=true"];

    [Fact]
    public async Task Drilldown_settings_are_stored_read_back_and_survive_a_restart()
    {
        var ct = TestContext.Current.CancellationToken;
        var dataDirectory = Directory.CreateTempSubdirectory("pyroscope-settings-").FullName;
        try
        {
            var pluginSettings = JsonSerializer.Serialize(new { collapsedFlamegraphs = true, maxNodes = 8192, enableFlameGraphDotComExport = false });
            long modifiedAt;
            await using (var server = await PyroscopeProcess.StartReadyAsync("Pyroscope.All", Quiet, dataDirectory))
            {
                // Nothing stored yet: the app reads a missing "settings" field as "use defaults".
                var (emptyStatus, emptyBody) = await PostJsonAsync(server.Http, GetPath, "{}", tenant: null, ct);
                Assert.Equal(HttpStatusCode.OK, emptyStatus);
                AssertNoSettings(emptyBody);

                var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                var setBody = JsonSerializer.Serialize(new { setting = new { name = "pluginSettings", value = pluginSettings } });
                var (setStatus, setResponse) = await PostJsonAsync(server.Http, SetPath, setBody, tenant: null, ct);
                var after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                Assert.Equal(HttpStatusCode.OK, setStatus);
                using (var set = JsonDocument.Parse(setResponse))
                {
                    var setting = set.RootElement.GetProperty("setting");
                    Assert.Equal("pluginSettings", setting.GetProperty("name").GetString());
                    Assert.Equal(pluginSettings, setting.GetProperty("value").GetString());
                    // proto3 JSON writes int64 as a string.
                    modifiedAt = long.Parse(setting.GetProperty("modifiedAt").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
                    Assert.InRange(modifiedAt, before, after);
                }

                var (_, getResponse) = await PostJsonAsync(server.Http, GetPath, "{}", tenant: null, ct);
                AssertSingleSetting(getResponse, "pluginSettings", pluginSettings, modifiedAt);

                // An update older than the stored one loses (upstream: already_exists).
                var stale = JsonSerializer.Serialize(new { setting = new { name = "pluginSettings", value = "{}", modifiedAt = (modifiedAt - 1).ToString(System.Globalization.CultureInfo.InvariantCulture) } });
                var (staleStatus, staleBody) = await PostJsonAsync(server.Http, SetPath, stale, tenant: null, ct);
                Assert.Equal(HttpStatusCode.Conflict, staleStatus);
                Assert.Contains("already_exists", staleBody);

                var (emptyNameStatus, emptyNameBody) = await PostJsonAsync(server.Http, SetPath, "{\"setting\":{\"name\":\"\",\"value\":\"x\"}}", tenant: null, ct);
                Assert.Equal(HttpStatusCode.BadRequest, emptyNameStatus);
                Assert.Contains("name must not be empty", emptyNameBody);

                var tooBig = JsonSerializer.Serialize(new { setting = new { name = "big", value = new string('x', 1024 * 1024 + 1) } });
                var (tooBigStatus, tooBigBody) = await PostJsonAsync(server.Http, SetPath, tooBig, tenant: null, ct);
                Assert.Equal(HttpStatusCode.BadRequest, tooBigStatus);
                Assert.Contains("1048577 bytes", tooBigBody);
            }

            await using var restarted = await PyroscopeProcess.StartReadyAsync("Pyroscope.All", Quiet, dataDirectory);
            var (_, afterRestart) = await PostJsonAsync(restarted.Http, GetPath, "{}", tenant: null, ct);
            AssertSingleSetting(afterRestart, "pluginSettings", pluginSettings, modifiedAt);
        }
        finally
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task Tenants_are_isolated_over_connect_proto_gzip_and_grpc()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await PyroscopeProcess.StartReadyAsync("Pyroscope.All", [.. Quiet, "-auth.multitenancy-enabled=true"]);

        // Connect with a gzipped protobuf body, as generated Connect clients send it.
        var request = new SetSettingsRequest { Setting = new Setting { Name = "pluginSettings", Value = "{\"maxNodes\":1024}", ModifiedAt = 1_700_000_000_000 } };
        using (var message = new HttpRequestMessage(HttpMethod.Post, SetPath) { Content = Gzip(request.ToByteArray()) })
        {
            message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/proto");
            message.Content.Headers.ContentEncoding.Add("gzip");
            message.Headers.Add("X-Scope-OrgID", "team-a");
            using var response = await server.Http.SendAsync(message, ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var stored = SetSettingsResponse.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync(ct));
            Assert.Equal(request.Setting, stored.Setting);
        }

        var (_, teamB) = await PostJsonAsync(server.Http, GetPath, "{}", "team-b", ct);
        AssertNoSettings(teamB);
        var (_, teamA) = await PostJsonAsync(server.Http, GetPath, "{}", "team-a", ct);
        AssertSingleSetting(teamA, "pluginSettings", "{\"maxNodes\":1024}", 1_700_000_000_000);

        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.GrpcPort}");
        var client = new SettingsService.SettingsServiceClient(channel);
        var grpcA = await client.GetAsync(new GetSettingsRequest(), new Metadata { { "X-Scope-OrgID", "team-a" } }, cancellationToken: ct);
        Assert.Equal(request.Setting, Assert.Single(grpcA.Settings));

        await client.SetAsync(new SetSettingsRequest { Setting = new Setting { Name = "theme", Value = "dark" } }, new Metadata { { "X-Scope-OrgID", "team-b" } }, cancellationToken: ct);
        var grpcB = await client.GetAsync(new GetSettingsRequest(), new Metadata { { "X-Scope-OrgID", "team-b" } }, cancellationToken: ct);
        Assert.Equal("theme", Assert.Single(grpcB.Settings).Name);
        Assert.Single((await client.GetAsync(new GetSettingsRequest(), new Metadata { { "X-Scope-OrgID", "team-a" } }, cancellationToken: ct)).Settings);

        var refused = await Assert.ThrowsAsync<RpcException>(async () => await client.SetAsync(
            new SetSettingsRequest { Setting = new Setting { Name = "pluginSettings", Value = "{}", ModifiedAt = 1 } },
            new Metadata { { "X-Scope-OrgID", "team-a" } }, cancellationToken: ct));
        Assert.Equal(StatusCode.AlreadyExists, refused.StatusCode);
        var empty = await Assert.ThrowsAsync<RpcException>(async () => await client.SetAsync(
            new SetSettingsRequest(), new Metadata { { "X-Scope-OrgID", "team-a" } }, cancellationToken: ct));
        Assert.Equal(StatusCode.InvalidArgument, empty.StatusCode);
    }

    [Fact]
    public async Task Tenant_settings_runs_as_a_target_of_its_own()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await PyroscopeProcess.StartReadyAsync("Pyroscope.All", [.. Quiet, "-target=tenant-settings"]);

        var (setStatus, _) = await PostJsonAsync(server.Http, SetPath, "{\"setting\":{\"name\":\"pluginSettings\",\"value\":\"{}\",\"modifiedAt\":\"42\"}}", tenant: null, ct);
        Assert.Equal(HttpStatusCode.OK, setStatus);
        var (_, settings) = await PostJsonAsync(server.Http, GetPath, "{}", tenant: null, ct);
        AssertSingleSetting(settings, "pluginSettings", "{}", 42);
        // Only the settings service runs: the querier is not there.
        using var query = await server.Http.PostAsync("/querier.v1.QuerierService/ProfileTypes", new StringContent("{}", Encoding.UTF8, "application/json"), ct);
        Assert.Equal(HttpStatusCode.NotFound, query.StatusCode);
    }

    [Fact]
    public async Task Delete_over_connect_json_proto_and_grpc_removes_one_setting_and_survives_a_restart()
    {
        var ct = TestContext.Current.CancellationToken;
        var dataDirectory = Directory.CreateTempSubdirectory("pyroscope-settings-").FullName;
        try
        {
            await using (var server = await PyroscopeProcess.StartReadyAsync("Pyroscope.All", Quiet, dataDirectory))
            {
                foreach (var name in new[] { "metric.cpu", "metric.gc", "metric.alloc", "pluginSettings" })
                {
                    var (status, _) = await PostJsonAsync(server.Http, SetPath, JsonSerializer.Serialize(new { setting = new { name, value = "{}" } }), tenant: null, ct);
                    Assert.Equal(HttpStatusCode.OK, status);
                }

                // Drilldown's recording-rules client before RecordingRulesService: POST {"name":"metric.<rule>"}, reads the body as JSON.
                var (deleteStatus, deleteBody) = await PostJsonAsync(server.Http, DeletePath, "{\"name\":\"metric.cpu\"}", tenant: null, ct);
                Assert.Equal(HttpStatusCode.OK, deleteStatus);
                Assert.Empty(JsonDocument.Parse(deleteBody).RootElement.EnumerateObject());
                // Deleting what is not there succeeds, as upstream.
                Assert.Equal(HttpStatusCode.OK, (await PostJsonAsync(server.Http, DeletePath, "{\"name\":\"metric.cpu\"}", tenant: null, ct)).Status);

                using (var message = new HttpRequestMessage(HttpMethod.Post, DeletePath) { Content = new ByteArrayContent(new DeleteSettingsRequest { Name = "metric.gc" }.ToByteArray()) })
                {
                    message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/proto");
                    using var response = await server.Http.SendAsync(message, ct);
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                    Assert.Empty(await response.Content.ReadAsByteArrayAsync(ct));
                }

                using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.GrpcPort}");
                var client = new SettingsService.SettingsServiceClient(channel);
                await client.DeleteAsync(new DeleteSettingsRequest { Name = "metric.alloc" }, cancellationToken: ct);
                var noName = await Assert.ThrowsAsync<RpcException>(async () => await client.DeleteAsync(new DeleteSettingsRequest(), cancellationToken: ct));
                Assert.Equal(StatusCode.InvalidArgument, noName.StatusCode);
                Assert.Contains("\"name\"", noName.Status.Detail);

                var (badStatus, badBody) = await PostJsonAsync(server.Http, DeletePath, "{}", tenant: null, ct);
                Assert.Equal(HttpStatusCode.BadRequest, badStatus);
                Assert.Contains("invalid_argument", badBody);

                var (_, left) = await PostJsonAsync(server.Http, GetPath, "{}", tenant: null, ct);
                Assert.Equal("pluginSettings", Assert.Single(JsonDocument.Parse(left).RootElement.GetProperty("settings").EnumerateArray()).GetProperty("name").GetString());
            }

            await using var restarted = await PyroscopeProcess.StartReadyAsync("Pyroscope.All", Quiet, dataDirectory);
            var (_, afterRestart) = await PostJsonAsync(restarted.Http, GetPath, "{}", tenant: null, ct);
            Assert.Equal("pluginSettings", Assert.Single(JsonDocument.Parse(afterRestart).RootElement.GetProperty("settings").EnumerateArray()).GetProperty("name").GetString());
        }
        finally
        {
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    /// <summary>An empty repeated field is left out in proto3 JSON, as upstream's <c>{}</c>; the app reads that as "no settings".</summary>
    private static void AssertNoSettings(string responseJson)
    {
        using var document = JsonDocument.Parse(responseJson);
        Assert.Equal(JsonValueKind.Object, document.RootElement.ValueKind);
        Assert.False(document.RootElement.TryGetProperty("settings", out _), responseJson);
    }

    private static void AssertSingleSetting(string responseJson, string name, string value, long modifiedAt)
    {
        using var document = JsonDocument.Parse(responseJson);
        var setting = Assert.Single(document.RootElement.GetProperty("settings").EnumerateArray());
        Assert.Equal(name, setting.GetProperty("name").GetString());
        Assert.Equal(value, setting.GetProperty("value").GetString());
        Assert.Equal(modifiedAt.ToString(System.Globalization.CultureInfo.InvariantCulture), setting.GetProperty("modifiedAt").GetString());
    }

    private static async Task<(HttpStatusCode Status, string Body)> PostJsonAsync(HttpClient http, string path, string json, string? tenant, CancellationToken ct)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (tenant is not null)
        {
            message.Headers.Add("X-Scope-OrgID", tenant);
        }
        using var response = await http.SendAsync(message, ct);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(ct));
    }

    private static ByteArrayContent Gzip(byte[] payload)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(payload);
        }
        return new ByteArrayContent(buffer.ToArray());
    }
}
