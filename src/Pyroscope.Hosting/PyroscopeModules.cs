using Grpc.AspNetCore.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Pyroscope.Api;
using Pyroscope.Compactor;
using Pyroscope.Hosting.Modules;
using Pyroscope.Ring;
using Pyroscope.Settings;
using Pyroscope.Storage;

namespace Pyroscope.Hosting;

/// <summary>The module table of Pyroscope.NET: every module and, in one place, every dependency.</summary>
public static class PyroscopeModules
{
    public static ModuleRegistry CreateRegistry(IReadOnlyCollection<ComponentModule> components)
    {
        var registry = new ModuleRegistry()
            .Register(ModuleDefinition.Internal(ModuleNames.Server, InitServer))
            .Register(ModuleDefinition.Internal(ModuleNames.Api, InitApi))
            .Register(ModuleDefinition.Internal(ModuleNames.Overrides, InitOverrides))
            .Register(ModuleDefinition.Internal(ModuleNames.Ring, InitRing))
            .Register(ModuleDefinition.Internal(ModuleNames.Storage, InitStorage))
            .Register(ModuleDefinition.Target(ModuleNames.Distributor, ComponentInit(ModuleNames.Distributor, components)))
            .Register(ModuleDefinition.Target(ModuleNames.Ingester, ComponentInit(ModuleNames.Ingester, components)))
            .Register(ModuleDefinition.Target(ModuleNames.Querier, ComponentInit(ModuleNames.Querier, components)))
            .Register(ModuleDefinition.Target(ModuleNames.Compactor, InitCompactor))
            .Register(ModuleDefinition.Target(ModuleNames.TenantSettings, InitTenantSettings))
            .Register(ModuleDefinition.Target(ModuleNames.All, init: null));

        registry
            .DependsOn(ModuleNames.Api, ModuleNames.Server)
            .DependsOn(ModuleNames.Ring, ModuleNames.Server)
            .DependsOn(ModuleNames.Distributor, ModuleNames.Api, ModuleNames.Overrides, ModuleNames.Ring)
            .DependsOn(ModuleNames.Ingester, ModuleNames.Api, ModuleNames.Overrides, ModuleNames.Ring, ModuleNames.Storage)
            .DependsOn(ModuleNames.Querier, ModuleNames.Api, ModuleNames.Overrides, ModuleNames.Ring, ModuleNames.Storage)
            .DependsOn(ModuleNames.Compactor, ModuleNames.Api, ModuleNames.Overrides, ModuleNames.Storage)
            .DependsOn(ModuleNames.TenantSettings, ModuleNames.Server, ModuleNames.Api, ModuleNames.Storage)
            .DependsOn(ModuleNames.All, ModuleNames.Distributor, ModuleNames.Ingester, ModuleNames.Querier, ModuleNames.Compactor, ModuleNames.TenantSettings);
        return registry;
    }

    /// <summary>The component names a target needs that this executable does not carry.</summary>
    public static IReadOnlyList<string> MissingComponents(IReadOnlyList<string> modules, IReadOnlyCollection<ComponentModule> components)
    {
        var missing = new List<string>();
        foreach (var module in modules)
        {
            if (module is ModuleNames.Distributor or ModuleNames.Ingester or ModuleNames.Querier && !HasComponent(components, module))
            {
                missing.Add(module);
            }
        }
        return missing;
    }

    private static Action<ModuleContext> ComponentInit(string name, IReadOnlyCollection<ComponentModule> components)
    {
        foreach (var component in components)
        {
            if (component.Name == name)
            {
                return component.Init;
            }
        }
        return _ => throw new InvalidOperationException($"module \"{name}\" is not part of this executable; run Pyroscope.All to use it");
    }

    private static bool HasComponent(IReadOnlyCollection<ComponentModule> components, string name)
    {
        foreach (var component in components)
        {
            if (component.Name == name)
            {
                return true;
            }
        }
        return false;
    }

    private static void InitServer(ModuleContext context)
    {
        context.Services.AddGrpc(options => options.EnableDetailedErrors = false);
        SelfProfiling.Register(context);
        context.MapEndpoints(app =>
            // gRPC-Web on every gRPC service, so browsers and Connect-web clients reach them on the HTTP port.
            app.UseGrpcWeb(new GrpcWebOptions { DefaultEnabled = true }));
    }

    private static void InitApi(ModuleContext context)
    {
        context.Services.AddPyroscopeApi(context.Configuration);
        context.MapEndpoints(app => app.MapPyroscopeApiEndpoints());
    }

    private static void InitOverrides(ModuleContext context) =>
        context.Services.AddTenantLimits(context.Configuration);

    private static void InitRing(ModuleContext context)
    {
        // In the monolith the KV is in memory; with ring.store=redis every process shares one ring.
        context.Services.AddRing(context.Configuration);
        context.MapEndpoints(app => app.MapRingStatus());
    }

    private static void InitStorage(ModuleContext context) =>
        context.Services.AddObjectStore(context.Configuration);

    private static void InitCompactor(ModuleContext context)
    {
        context.Services.AddCompactor(context.Configuration);
    }

    private static void InitTenantSettings(ModuleContext context)
    {
        context.Services.AddTenantSettings(context.Configuration);
        context.MapEndpoints(app => app.MapTenantSettings());
    }
}
