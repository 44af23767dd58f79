using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Pyroscope.Hosting.Modules;

/// <summary>
/// What a module's init sees: the services to register into, the merged configuration, the modules of this
/// process and the component libraries the executable carries. Every <see cref="IHostedService"/> an init
/// registers becomes a service of that module: the <see cref="ModuleManager"/> starts it after the module's
/// dependencies and stops it before them, instead of the generic host starting it in registration order.
/// </summary>
public sealed class ModuleContext(IServiceCollection services, IConfiguration configuration, ActiveModules activeModules, IReadOnlyList<ComponentLibrary> components)
{
    private readonly List<Action<WebApplication>> _appBuilders = [];
    private readonly HashSet<object> _adoptedServices = new(ReferenceEqualityComparer.Instance);

    public IServiceCollection Services { get; } = services;

    public IConfiguration Configuration { get; } = configuration;

    /// <summary>Every module of this process (the target's closure): what the module table's seam choices read.</summary>
    public ActiveModules ActiveModules { get; } = activeModules;

    /// <summary>The module whose init is running.</summary>
    public string Module { get; private set; } = "";

    internal IReadOnlyList<Action<WebApplication>> AppBuilders => _appBuilders;

    /// <summary>The component library that implements <paramref name="module"/>, as the executable handed it over.</summary>
    public ComponentLibrary Component(string module) =>
        Find(components, module) ?? throw new InvalidOperationException($"module \"{module}\" is not part of this executable; run Pyroscope.All to use it");

    public static ComponentLibrary? Find(IReadOnlyList<ComponentLibrary> components, string module)
    {
        foreach (var component in components)
        {
            if (component.Module == module)
            {
                return component;
            }
        }
        return null;
    }

    /// <summary>Adds middleware or always-available endpoints (readiness, metrics, the ring page), in module order.</summary>
    public void UseMiddleware(Action<WebApplication> use) => _appBuilders.Add(use);

    /// <summary>
    /// Maps the module's own endpoints. They carry the module's name, so requests reaching them before the module
    /// runs get a 503 naming it (<see cref="ModuleReadinessGate"/>) instead of meeting half-started services.
    /// </summary>
    public void MapEndpoints(Action<IEndpointRouteBuilder> map)
    {
        var module = Module;
        _appBuilders.Add(app =>
        {
            var group = app.MapGroup("");
            group.WithMetadata(new ModuleEndpoint(module));
            map(group);
        });
    }

    /// <summary>Runs the module's init and makes the hosted services it registered the module's own.</summary>
    internal void Initialise(ModuleDefinition module)
    {
        if (module.Init is null)
        {
            return;
        }
        Module = module.Name;
        var before = Services.Count;
        module.Init(this);
        AdoptHostedServices(module.Name, before);
    }

    private void AdoptHostedServices(string module, int firstNew)
    {
        for (var i = firstNew; i < Services.Count; i++)
        {
            var descriptor = Services[i];
            if (descriptor.ServiceType != typeof(IHostedService) || descriptor.IsKeyedService)
            {
                continue;
            }
            Services.RemoveAt(i--);
            // Idempotent registrations (TryAddEnumerable) of a later module re-add what an earlier module already owns.
            var identity = (object?)descriptor.ImplementationType ?? descriptor.ImplementationInstance ?? descriptor.ImplementationFactory!;
            if (_adoptedServices.Add(identity))
            {
                Services.Add(ToModuleService(module, descriptor));
            }
        }
    }

    private static ServiceDescriptor ToModuleService(string module, ServiceDescriptor descriptor)
    {
        if (descriptor.ImplementationInstance is { } instance)
        {
            return new ServiceDescriptor(typeof(IHostedService), module, instance);
        }
        if (descriptor.ImplementationFactory is { } factory)
        {
            return new ServiceDescriptor(typeof(IHostedService), module, (sp, _) => factory(sp), descriptor.Lifetime);
        }
        return new ServiceDescriptor(typeof(IHostedService), module, descriptor.ImplementationType!, descriptor.Lifetime);
    }
}

/// <summary>Endpoint metadata: the module an endpoint belongs to.</summary>
public sealed record ModuleEndpoint(string Module);
