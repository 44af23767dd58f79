using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Pyroscope.Api.Tenancy;

namespace Pyroscope.Api.Connect;

/// <summary>What a Connect handler may want besides the request message.</summary>
public sealed class ConnectCallContext(HttpContext httpContext)
{
    private string? _tenantId;

    public HttpContext HttpContext { get; } = httpContext;

    public IHeaderDictionary RequestHeaders => HttpContext.Request.Headers;

    public IHeaderDictionary ResponseHeaders => HttpContext.Response.Headers;

    /// <summary>The caller's tenant, resolved on first use (throws 401 unauthenticated when missing and required).</summary>
    public string TenantId => _tenantId ??= HttpContext.RequestServices.GetRequiredService<ITenantResolver>().Resolve(HttpContext);

    /// <summary>Size of the request message after decompression, in bytes.</summary>
    public long RequestBytes { get; internal set; }
}

public sealed class ConnectUnaryOptions
{
    public static readonly ConnectUnaryOptions Default = new();

    /// <summary>
    /// Request size limit (raw and decompressed); over it → 413 resource_exhausted. Query and settings
    /// messages are small; push raises it to the tenant's body limit.
    /// </summary>
    public long MaxRequestBytes { get; init; } = 4L * 1024 * 1024;

    /// <summary>How the limit is named in the 413 message (a config key when it is one).</summary>
    public string LimitName { get; init; } = "request size limit";

    /// <summary>When set, decides the limit per call (e.g. from the tenant's limits), once the tenant is known.</summary>
    public Func<ConnectCallContext, RequestLimit>? RequestLimitFor { get; init; }

    /// <summary>Responses at least this large are gzipped when the client accepts gzip.</summary>
    public int CompressMinBytes { get; init; } = 1024;
}

/// <summary>A request size cap and how the refusal names it (a config key, or the rule it follows from).</summary>
public readonly record struct RequestLimit(long Bytes, string Name);
