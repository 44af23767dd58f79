using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;

namespace Pyroscope.WebUI.Tests;

/// <summary>The HTTP side of MapPyroscopeWebUI: embedded assets, content types, ETag revalidation, gzip.</summary>
public sealed class AssetServingTests(UiFixture ui)
{
    private HttpClient Client() => new() { BaseAddress = new Uri(ui.Host.Url) };

    [Theory]
    [InlineData("/", "text/html")]
    [InlineData("/assets/app.js", "text/javascript")]
    [InlineData("/assets/flamegraph.js", "text/javascript")]
    [InlineData("/assets/style.css", "text/css")]
    [InlineData("/assets/favicon.svg", "image/svg+xml")]
    public async Task Serves_embedded_assets_with_content_type_and_etag(string path, string contentType)
    {
        using var client = Client();
        using var response = await client.GetAsync(path, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(contentType, response.Content.Headers.ContentType!.MediaType);
        Assert.NotNull(response.Headers.ETag);
        Assert.True(response.Headers.CacheControl!.NoCache);
        Assert.NotEmpty(await response.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Matching_if_none_match_answers_304_without_body()
    {
        using var client = Client();
        using var first = await client.GetAsync("/assets/app.js", TestContext.Current.CancellationToken);
        var etag = first.Headers.ETag!;
        using var request = new HttpRequestMessage(HttpMethod.Get, "/assets/app.js");
        request.Headers.IfNoneMatch.Add(etag);
        using var second = await client.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotModified, second.StatusCode);
        Assert.Empty(await second.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken));

        using var stale = new HttpRequestMessage(HttpMethod.Get, "/assets/app.js");
        stale.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"not-the-current-one\""));
        using var third = await client.SendAsync(stale, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
    }

    [Fact]
    public async Task Gzip_is_served_when_accepted_and_decodes_to_the_same_bytes()
    {
        using var client = Client();
        var plain = await client.GetByteArrayAsync("/assets/flamegraph.js", TestContext.Current.CancellationToken);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/assets/flamegraph.js");
        request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("gzip"));
        using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Contains("gzip", response.Content.Headers.ContentEncoding);
        var compressed = await response.Content.ReadAsByteArrayAsync(TestContext.Current.CancellationToken);
        Assert.True(compressed.Length < plain.Length);
        using var gz = new GZipStream(new MemoryStream(compressed), CompressionMode.Decompress);
        using var decoded = new MemoryStream();
        gz.CopyTo(decoded);
        Assert.Equal(plain, decoded.ToArray());
    }

    [Fact]
    public async Task Unknown_asset_is_404()
    {
        using var client = Client();
        using var response = await client.GetAsync("/assets/does-not-exist.js", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Index_references_only_local_assets()
    {
        using var client = Client();
        var html = await client.GetStringAsync("/", TestContext.Current.CancellationToken);
        Assert.DoesNotContain("http://", html);
        Assert.DoesNotContain("https://", html);
        Assert.Contains("assets/app.js", html);
    }
}
