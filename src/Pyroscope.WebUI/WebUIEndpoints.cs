using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace Pyroscope.WebUI;

public static class WebUIEndpoints
{
    /// <summary>
    /// Serves the UI: <c>/</c> (index.html) and <c>/assets/*</c>. Responses carry a strong ETag and
    /// <c>Cache-Control: no-cache</c>: file names are not content-hashed, so browsers must revalidate,
    /// which costs a 304 and no body.
    /// </summary>
    public static IEndpointRouteBuilder MapPyroscopeWebUI(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var store = EmbeddedAssetStore.Shared;

        endpoints.MapGet("/", (HttpContext context) => Serve(context, store, "index.html"))
            .ExcludeFromDescription();
        endpoints.MapMethods("/assets/{**path}", [HttpMethods.Get, HttpMethods.Head],
                (HttpContext context, string path) => Serve(context, store, "assets/" + path))
            .ExcludeFromDescription();
        return endpoints;
    }

    private static Task Serve(HttpContext context, EmbeddedAssetStore store, string path)
    {
        var response = context.Response;
        if (!store.TryGet(path, out var asset))
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }

        response.Headers.ETag = asset.ETag;
        response.Headers.CacheControl = "no-cache";
        response.Headers.XContentTypeOptions = "nosniff";
        if (asset.Gzipped is not null)
            response.Headers.Vary = HeaderNames.AcceptEncoding;

        if (IfNoneMatch(context.Request, asset.ETag))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }

        response.ContentType = asset.ContentType;
        var body = asset.Content;
        if (asset.Gzipped is not null && AcceptsGzip(context.Request))
        {
            response.Headers.ContentEncoding = "gzip";
            body = asset.Gzipped;
        }
        response.ContentLength = body.Length;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(body).AsTask();
    }

    private static bool IfNoneMatch(HttpRequest request, string etag)
    {
        foreach (var value in request.Headers.IfNoneMatch)
        {
            if (value is null) continue;
            foreach (var candidate in value.Split(',', StringSplitOptions.TrimEntries))
            {
                if (candidate == "*" || candidate == etag || candidate == "W/" + etag)
                    return true;
            }
        }
        return false;
    }

    private static bool AcceptsGzip(HttpRequest request)
    {
        foreach (var value in request.Headers.AcceptEncoding)
        {
            if (value is not null && value.Contains("gzip", StringComparison.OrdinalIgnoreCase))
                return true;
        }
        return false;
    }
}
