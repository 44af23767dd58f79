using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Pyroscope.Hosting.Modules;

/// <summary>What a module's init sees: the services to register into and the merged configuration.</summary>
public sealed class ModuleContext(IServiceCollection services, IConfiguration configuration, IReadOnlySet<string> activeModules)
{
    private readonly List<Action<WebApplication>> _endpointMappers = [];

    public IServiceCollection Services { get; } = services;

    public IConfiguration Configuration { get; } = configuration;

    /// <summary>Every module of this process (the target's closure), so inits can pick in-process or remote seams.</summary>
    public IReadOnlySet<string> ActiveModules { get; } = activeModules;

    internal IReadOnlyList<Action<WebApplication>> EndpointMappers => _endpointMappers;

    /// <summary>Registers middleware or endpoints, applied after all modules are initialised, in module order.</summary>
    public void MapEndpoints(Action<WebApplication> map) => _endpointMappers.Add(map);
}

/// <summary>
/// One module: a kebab-case name, an init that registers its services and endpoints (null for pure wiring
/// such as <c>all</c>), and whether users may see it in <c>-modules</c> and name it in <c>-target</c>.
/// Dependencies live in the registry's single table, not here.
/// </summary>
public sealed record ModuleDefinition(string Name, Action<ModuleContext>? Init, bool UserVisible, bool Targetable)
{
    public static ModuleDefinition Internal(string name, Action<ModuleContext>? init) => new(name, init, UserVisible: false, Targetable: false);

    public static ModuleDefinition Target(string name, Action<ModuleContext>? init) => new(name, init, UserVisible: true, Targetable: true);
}
