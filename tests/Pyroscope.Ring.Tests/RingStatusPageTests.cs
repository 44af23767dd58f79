using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pyroscope.Ring;
using Pyroscope.Ring.Kv;
using Pyroscope.Testing;

namespace Pyroscope.Ring.Tests;

/// <summary>GET/POST /ring on a real Kestrel host wired with AddRingLifecycler + MapRingStatus, as an ingester would be.</summary>
public sealed class RingStatusPageTests : IAsyncLifetime
{
    private WebApplication _app = null!;
    private HttpClient _http = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ring:instance_id"] = "self",
            ["ring:instance_addr"] = "127.0.0.1",
            ["ring:num_tokens"] = "32",
            ["ring:auto_forget_unhealthy_periods"] = "0", // keep the dead member below listed
        });
        builder.Services.AddRingLifecycler(builder.Configuration);
        _app = builder.Build();
        _app.MapRingStatus();
        await _app.StartAsync(Ct);
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        _http = new HttpClient { BaseAddress = new Uri(address) };

        // The lifecycler joins the ring in the background: every test below expects this instance in it.
        var store = _app.Services.GetRequiredService<IRingKvStore>();
        await Poll.UntilAsync(async () => (await store.GetRingAsync(RingOptions.DefaultKey, Ct)).Item2.Instances.ContainsKey("self"), "the instance joined the ring");

        // A second, long-dead member whose id needs HTML encoding.
        await store.CasRingAsync(RingOptions.DefaultKey, ring =>
        {
            ring.Instances["dead<b>"] = TestRings.Instance("dead<b>", [1, 2, 3], heartbeatMs: 0);
            return true;
        }, Ct);
    }

    [Fact]
    public async Task Html_lists_members_with_state_health_and_ownership()
    {
        var html = await _http.GetStringAsync("/ring", Ct);
        Assert.Contains("<th>Instance ID</th>", html);
        Assert.Contains("<td>self</td>", html);
        Assert.Contains("127.0.0.1:9095", html);
        Assert.Contains("ACTIVE", html);
        Assert.Contains("dead&lt;b&gt;", html);
        Assert.DoesNotContain("dead<b>", html);
        Assert.Contains("(unhealthy)", html);
        Assert.Contains("%</td>", html);
    }

    [Fact]
    public async Task Json_is_served_when_asked_for()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/ring");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var response = await _http.SendAsync(request, Ct);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        var shards = json.RootElement.GetProperty("shards").EnumerateArray().ToDictionary(s => s.GetProperty("id").GetString()!);
        Assert.Equal(["dead<b>", "self"], shards.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("ACTIVE", shards["self"].GetProperty("state").GetString());
        Assert.True(shards["self"].GetProperty("healthy").GetBoolean());
        Assert.False(shards["dead<b>"].GetProperty("healthy").GetBoolean());
        Assert.Equal(32, shards["self"].GetProperty("tokens").GetArrayLength());
        var ownership = shards.Values.Sum(s => s.GetProperty("ownership").GetDouble());
        Assert.Equal(1.0, ownership, 6);
    }

    [Fact]
    public async Task Forget_removes_a_member()
    {
        using var response = await _http.PostAsync("/ring", new FormUrlEncodedContent([new("forget", "dead<b>")]), Ct);
        Assert.True(response.StatusCode is HttpStatusCode.SeeOther or HttpStatusCode.OK, $"got {response.StatusCode}");
        var (_, ring) = await _app.Services.GetRequiredService<IRingKvStore>().GetRingAsync(RingOptions.DefaultKey, Ct);
        Assert.Equal(["self"], ring.Instances.Keys);

        using var bad = await _http.PostAsync("/ring", new FormUrlEncodedContent([]), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }
}
