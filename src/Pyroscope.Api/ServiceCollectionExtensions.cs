using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Pyroscope.Api.Limits;
using Pyroscope.Api.Tenancy;

namespace Pyroscope.Api;

public static class ServiceCollectionExtensions
{
    /// <summary>Per-tenant limits from configuration (<c>limits</c>, <c>overrides:&lt;tenant&gt;</c>); idempotent.</summary>
    public static IServiceCollection AddTenantLimits(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton<ITenantLimitsProvider>(_ => new ConfigurationTenantLimitsProvider(configuration));
        return services;
    }

    /// <summary>Tenant resolution (<c>multitenancy_enabled</c>, <c>X-Scope-OrgID</c>); idempotent.</summary>
    public static IServiceCollection AddTenancy(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(_ => TenancyOptions.From(configuration));
        services.TryAddSingleton<ITenantResolver, TenantResolver>();
        return services;
    }

    /// <summary>Everything the HTTP API plumbing needs: tenancy and limits.</summary>
    public static IServiceCollection AddPyroscopeApi(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.AspNetCore.Routing.MatcherPolicy, Connect.ConnectProtocolMatcherPolicy>());
        return services.AddTenancy(configuration).AddTenantLimits(configuration);
    }
}
