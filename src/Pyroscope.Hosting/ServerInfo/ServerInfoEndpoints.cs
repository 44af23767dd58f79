using Google.Protobuf;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Pyroscope.Api.Connect;
using Pyroscope.Api.Tenancy;
using Pyroscope.Contracts.Capabilities.V1;
using Pyroscope.Contracts.Status.V1;
using Pyroscope.Contracts.Version.V1;

namespace Pyroscope.Hosting.ServerInfo;

/// <summary>
/// Where upstream's clients look: Connect and gRPC <c>/capabilities.v1.FeatureFlagsService/GetFeatureFlags</c> (per
/// tenant, as upstream), <c>/version.v1.Version/Version</c>, <c>/status.v1.StatusService/GetBuildInfo</c>, and the
/// build info as upstream's gateway serves it, <c>GET /api/v1/status/buildinfo</c> (Prometheus' shape).
/// </summary>
public static class ServerInfoEndpoints
{
    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    public static IEndpointRouteBuilder MapServerInfo(this IEndpointRouteBuilder endpoints)
    {
        var info = endpoints.ServiceProvider.GetRequiredService<ServerInfo>();
        endpoints.MapConnectUnary<GetFeatureFlagsRequest, GetFeatureFlagsResponse>("/capabilities.v1.FeatureFlagsService/GetFeatureFlags",
            (_, call, _) =>
            {
                _ = call.TenantId;
                return Task.FromResult(info.FeatureFlags());
            });
        endpoints.MapConnectUnary<VersionRequest, VersionResponse>("/version.v1.Version/Version",
            (_, _, _) => Task.FromResult(ServerInfo.Version()));
        endpoints.MapConnectUnary<GetBuildInfoRequest, GetBuildInfoResponse>("/status.v1.StatusService/GetBuildInfo",
            (_, _, _) => Task.FromResult(ServerInfo.BuildInfo()));
        endpoints.MapGet("/api/v1/status/buildinfo", () => Results.Text(Json.Format(ServerInfo.BuildInfo()), "application/json"));
        endpoints.MapGrpcService<FeatureFlagsGrpcService>();
        endpoints.MapGrpcService<VersionGrpcService>();
        endpoints.MapGrpcService<StatusGrpcService>();
        return endpoints;
    }
}

internal sealed class FeatureFlagsGrpcService(ServerInfo info, ITenantResolver tenants) : FeatureFlagsService.FeatureFlagsServiceBase
{
    public override Task<GetFeatureFlagsResponse> GetFeatureFlags(GetFeatureFlagsRequest request, ServerCallContext context) =>
        tenants.RunForTenantAsync(context, (_, _) => Task.FromResult(info.FeatureFlags()));
}

internal sealed class VersionGrpcService : Contracts.Version.V1.Version.VersionBase
{
    public override Task<VersionResponse> Version(VersionRequest request, ServerCallContext context) => Task.FromResult(ServerInfo.Version());
}

/// <summary>GetBuildInfo; the config RPCs stay unimplemented (the base class answers so).</summary>
internal sealed class StatusGrpcService : StatusService.StatusServiceBase
{
    public override Task<GetBuildInfoResponse> GetBuildInfo(GetBuildInfoRequest request, ServerCallContext context) => Task.FromResult(ServerInfo.BuildInfo());
}
