using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Pyroscope.Api;
using Pyroscope.Api.Connect;
using Pyroscope.Contracts.Settings.V1;
using Pyroscope.Recording;

namespace Pyroscope.Settings;

public static class SettingsEndpoints
{
    public const string ServicePath = "/settings.v1.SettingsService/";
    public const string RulesServicePath = "/settings.v1.RecordingRulesService/";

    // A value may be up to 1 MiB of UTF-8; the JSON envelope and escaping can double that.
    private static readonly ConnectUnaryOptions SettingsCallOptions = new() { MaxRequestBytes = 4L * TenantSettingsStore.MaxValueBytes };

    /// <summary>Registers the tenant-settings store; the <see cref="Storage.ObjectStore.IObjectStore"/> comes from the storage module.</summary>
    public static IServiceCollection AddTenantSettings(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddPyroscopeApi(configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<TenantSettingsStore>();
        services.TryAddSingleton<TenantRecordingRulesStore>();
        // This process's rule evaluation (a distributor or querier beside tenant-settings) reads the store directly
        // and hears of every change at once; AddRecordingRuleSource's Connect client is only the fallback.
        services.AddRecordingRuleSource(configuration);
        services.AddSingleton<IRecordingRuleSource>(sp => sp.GetRequiredService<TenantRecordingRulesStore>());
        // Drilldown offers "create metric" only where capabilities.v1 says the ruler (and its function filter) is there.
        services.AddFeatureFlag(FeatureFlagNames.PyroscopeRuler);
        services.AddFeatureFlag(FeatureFlagNames.PyroscopeRulerFunctions);
        services.AddGrpc();
        return services;
    }

    /// <summary>Maps settings.v1 (SettingsService, RecordingRulesService) over Connect and gRPC / gRPC-Web.</summary>
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

        var rules = endpoints.ServiceProvider.GetRequiredService<TenantRecordingRulesStore>();
        endpoints.MapConnectUnary<GetRecordingRuleRequest, GetRecordingRuleResponse>(RulesServicePath + "GetRecordingRule",
            async (r, c, ct) => new GetRecordingRuleResponse { Rule = await rules.GetAsync(c.TenantId, r.Id, ct) });
        endpoints.MapConnectUnary<ListRecordingRulesRequest, ListRecordingRulesResponse>(RulesServicePath + "ListRecordingRules",
            async (_, c, ct) => new ListRecordingRulesResponse { Rules = { await rules.ListAsync(c.TenantId, ct) } });
        endpoints.MapConnectUnary<UpsertRecordingRuleRequest, UpsertRecordingRuleResponse>(RulesServicePath + "UpsertRecordingRule",
            async (r, c, ct) => new UpsertRecordingRuleResponse { Rule = await rules.UpsertAsync(c.TenantId, r, ct) });
        endpoints.MapConnectUnary<DeleteRecordingRuleRequest, DeleteRecordingRuleResponse>(RulesServicePath + "DeleteRecordingRule",
            async (r, c, ct) =>
            {
                await rules.DeleteAsync(c.TenantId, r.Id, ct);
                return new DeleteRecordingRuleResponse();
            });
        endpoints.MapGrpcService<RecordingRulesGrpcService>().EnableGrpcWeb();
        return endpoints;
    }
}
