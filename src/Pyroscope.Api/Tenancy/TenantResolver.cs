using Grpc.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Pyroscope.Model;

namespace Pyroscope.Api.Tenancy;

public sealed class TenancyOptions
{
    /// <summary>Config key <c>multitenancy_enabled</c> (flag <c>-auth.multitenancy-enabled</c>), default false.</summary>
    public const string ConfigKey = "multitenancy_enabled";

    public bool MultitenancyEnabled { get; init; }

    public static TenancyOptions From(IConfiguration configuration)
    {
        var text = configuration[ConfigKey];
        if (string.IsNullOrWhiteSpace(text))
        {
            return new TenancyOptions();
        }
        if (!bool.TryParse(text, out var enabled))
        {
            throw new FormatException($"invalid value \"{text}\" for {ConfigKey} (expected true or false)");
        }
        return new TenancyOptions { MultitenancyEnabled = enabled };
    }
}

/// <summary>Which tenant a request belongs to: the org id header (<see cref="OrgIdHeader"/>) when multitenancy is on, else "anonymous".</summary>
public interface ITenantResolver
{
    bool MultitenancyEnabled { get; }

    /// <summary>Throws <see cref="ApiException"/> (401 unauthenticated) when no valid tenant is given.</summary>
    string Resolve(HttpContext context);

    /// <summary>Same for gRPC: metadata <see cref="OrgIdHeader.GrpcKey"/>; throws <see cref="RpcException"/> Unauthenticated.</summary>
    string Resolve(ServerCallContext context);
}

public sealed class TenantResolver(TenancyOptions options) : ITenantResolver
{
    public bool MultitenancyEnabled => options.MultitenancyEnabled;

    public string Resolve(HttpContext context) =>
        FromHeader(context.Request.Headers[OrgIdHeader.HttpName].ToString());

    public string Resolve(ServerCallContext context)
    {
        try
        {
            return FromHeader(context.RequestHeaders.GetValue(OrgIdHeader.GrpcKey));
        }
        catch (ApiException e)
        {
            throw new RpcException(new Status(e.Code.ToGrpc(), e.Message));
        }
    }

    /// <summary>The rule shared by HTTP and gRPC, given the header value (null/empty when absent).</summary>
    public string FromHeader(string? header)
    {
        if (!options.MultitenancyEnabled)
        {
            return TenantId.Anonymous;
        }
        if (string.IsNullOrEmpty(header))
        {
            throw ApiException.Unauthenticated("no org id");
        }
        return TenantId.Validate(header.Trim());
    }
}
