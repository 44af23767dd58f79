using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Pyroscope.Api;
using Pyroscope.Api.Connect;
using Pyroscope.Contracts.Settings.V1;

namespace Pyroscope.Settings;

public static class SettingsEndpoints
{
    public const string ServicePath = "/settings.v1.SettingsService/";

    // A value may be up to 1 MiB of UTF-8; the JSON envelope and escaping can double that.
    private static readonly ConnectUnaryOptions SettingsCallOptions = new() { MaxRequestBytes = 4L * TenantSettingsStore.MaxValueBytes };

    /// <summary>Registers the tenant-settings store; the <see cref="Storage.ObjectStore.IObjectStore"/> comes from the storage module.</summary>
    public static IServiceCollection AddTenantSettings(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddPyroscopeApi(configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<TenantSettingsStore>();
        services.AddGrpc();
        return services;
    }

    /// <summary>Maps settings.v1 over Connect (<c>/settings.v1.SettingsService/*</c>) and gRPC / gRPC-Web.</summary>
    public static IEndpointRouteBuilder MapTenantSettings(this IEndpointRouteBuilder endpoints)
    {
        var settings = endpoints.ServiceProvider.GetRequiredService<TenantSettingsStore>();
        endpoints.MapConnectUnary<GetSettingsRequest, GetSettingsResponse>(ServicePath + "Get",
            (_, c, ct) => settings.GetAsync(c.TenantId, ct), SettingsCallOptions);
        endpoints.MapConnectUnary<SetSettingsRequest, SetSettingsResponse>(ServicePath + "Set",
            async (r, c, ct) => new SetSettingsResponse { Setting = await settings.SetAsync(c.TenantId, r.Setting, ct) }, SettingsCallOptions);
        endpoints.MapConnectUnary<DeleteSettingsRequest, DeleteSettingsResponse>(ServicePath + "Delete",
            async (r, c, ct) =>
            {
                await settings.DeleteAsync(c.TenantId, r.Name, ct);
                return new DeleteSettingsResponse();
            });
        endpoints.MapGrpcService<SettingsGrpcService>().EnableGrpcWeb();
        return endpoints;
    }
}
