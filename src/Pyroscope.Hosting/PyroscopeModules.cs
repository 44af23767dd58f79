using Grpc.AspNetCore.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Pyroscope.Api;
using Pyroscope.Hosting.Modules;
using Pyroscope.Hosting.ServerInfo;
using Pyroscope.Ingester.Client;
using Pyroscope.Model;
using Pyroscope.Ring;
using Pyroscope.Storage;

namespace Pyroscope.Hosting;

/// <summary>
/// The module table of Pyroscope.NET: every module, in one place every dependency, and every choice between
/// an in-process and a remote seam. The monolith is these same modules with the in-process choices.
/// </summary>
public static class PyroscopeModules
{
    public static ModuleRegistry CreateRegistry()
    {
        var registry = new ModuleRegistry()
            .Register(ModuleDefinition.Internal(ModuleNames.Server, InitServer))
            .Register(ModuleDefinition.Internal(ModuleNames.Api, InitApi))
            .Register(ModuleDefinition.Internal(ModuleNames.Overrides, InitOverrides))
            .Register(ModuleDefinition.Internal(ModuleNames.Ring, InitRing))
            .Register(ModuleDefinition.Internal(ModuleNames.Storage, InitStorage))
            .Register(ModuleDefinition.Component(ModuleNames.Distributor, InitDistributor))
            .Register(ModuleDefinition.Component(ModuleNames.Ingester, InitIngester))
            .Register(ModuleDefinition.Component(ModuleNames.Querier, InitQuerier))
            .Register(ModuleDefinition.Component(ModuleNames.Compactor, InitComponent))
            .Register(ModuleDefinition.Component(ModuleNames.TenantSettings, InitComponent))
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

    private static void InitServer(ModuleContext context)
    {
        // Read here, not in the options callback, so a bad value stops the start instead of the first call.
        var maxReceive = GrpcMessageSizes.Receive(context.Configuration);
        var maxSend = GrpcMessageSizes.Send(context.Configuration);
        context.Services.AddGrpc(options =>
        {
            options.EnableDetailedErrors = false;
            options.MaxReceiveMessageSize = maxReceive;
            options.MaxSendMessageSize = maxSend;
            options.Interceptors.Add<CallerCancelledInterceptor>();
        });
        SelfProfiling.Register(context);
        context.UseMiddleware(app =>
        {
            app.UseRouting();
            // gRPC-Web on every gRPC service, so browsers and Connect-web clients reach them on the HTTP port.
            app.UseGrpcWeb(new GrpcWebOptions { DefaultEnabled = true });
            app.UseModuleReadinessGate();
        });
    }

    private static void InitApi(ModuleContext context)
    {
        context.Services.AddPyroscopeApi(context.Configuration);
        context.Services.AddSingleton<ServerInfo.ServerInfo>();
        context.UseMiddleware(app =>
        {
            app.MapPyroscopeApiEndpoints();
            app.MapServerInfo();
        });
    }

    private static void InitOverrides(ModuleContext context) =>
        context.Services.AddTenantLimits(context.Configuration);

    private static void InitRing(ModuleContext context)
    {
        // In the monolith the KV is in memory; with ring.store=redis every process shares one ring.
        context.Services.AddRing(context.Configuration);
        context.UseMiddleware(app => app.MapRingStatus());
    }

    private static void InitStorage(ModuleContext context)
    {
        context.Services.AddObjectStore(context.Configuration);
        context.Services.AddBlockStoreReader(context.Configuration);
    }

    private static void InitDistributor(ModuleContext context)
    {
        InitComponent(context);
        // Seam distributor → ingester: the ingester of this process when there is one, else the ring's ingesters over gRPC.
        if (context.ActiveModules.Contains(ModuleNames.Ingester))
        {
            context.Services.AddSingleton(sp => sp.GetRequiredKeyedService<IIngesterClient>(InProcessSeams.Ingester));
        }
        else
        {
            context.Services.AddRingIngesterClient(context.Configuration);
            context.Services.AddSingleton<IIngesterClient>(sp => sp.GetRequiredService<RingIngesterClient>());
        }
    }

    private static void InitIngester(ModuleContext context)
    {
        InitComponent(context);
        // Joins the ring under the address distributors and queriers reach its gRPC port at.
        context.Services.AddRingLifecycler(context.Configuration, sp => IngesterRingIdentity.Of(context.Configuration, sp.GetRequiredService<RingOptions>()));
    }

    private static void InitQuerier(ModuleContext context)
    {
        InitComponent(context);
        // Seam querier → data: the ingester of this process plus the store when there is one, else one store
        // snapshot plus what the ring's ingesters hold beyond it, over gRPC.
        if (context.ActiveModules.Contains(ModuleNames.Ingester))
        {
            context.Services.AddSingleton(sp => sp.GetRequiredKeyedService<IProfileReader>(InProcessSeams.Ingester));
        }
        else if (RingOptions.FromConfiguration(context.Configuration).Store == RingStore.InMemory)
        {
            // A ring in this process's memory, and no ingester here to join it: no ingester can ever be read, the
            // store is everything (a querier over blocks another process wrote). Reading the empty ring instead
            // would fail every query for lack of ingesters.
            context.Services.AddBlockStoreReader(context.Configuration);
            context.Services.AddSingleton<IProfileReader>(sp => sp.GetRequiredService<Pyroscope.Storage.Reading.BlockStoreReader>());
        }
        else
        {
            context.Services.AddStoreAndIngestersReader(context.Configuration);
            context.Services.AddSingleton<IProfileReader>(sp => sp.GetRequiredService<StoreAndIngestersReader>());
        }
    }

    /// <summary>A component module: the component's own services and endpoints, as its executable handed them over.</summary>
    internal static void InitComponent(ModuleContext context)
    {
        var component = context.Component(context.Module);
        component.AddServices(context.Services, context.Configuration);
        context.MapEndpoints(component.MapEndpoints);
    }
}
