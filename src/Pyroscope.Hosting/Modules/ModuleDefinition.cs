namespace Pyroscope.Hosting.Modules;

/// <summary>
/// One module: a kebab-case name, an init that registers its services and endpoints (null for pure wiring
/// such as <c>all</c>), and whether users may see it in <c>-modules</c> and name it in <c>-target</c>.
/// A component module needs the component library of the same name from the executable.
/// Dependencies live in the registry's single table, not here.
/// </summary>
public sealed record ModuleDefinition(string Name, Action<ModuleContext>? Init, bool UserVisible, bool Targetable, bool NeedsComponent = false)
{
    public static ModuleDefinition Internal(string name, Action<ModuleContext>? init) => new(name, init, UserVisible: false, Targetable: false);

    public static ModuleDefinition Target(string name, Action<ModuleContext>? init) => new(name, init, UserVisible: true, Targetable: true);

    public static ModuleDefinition Component(string name, Action<ModuleContext> init) => new(name, init, UserVisible: true, Targetable: true, NeedsComponent: true);
}

/// <summary>The modules this process runs, in start order (dependencies first), with their dependencies.</summary>
public sealed class ActiveModules
{
    private readonly Dictionary<string, IReadOnlyList<string>> _dependencies;

    public ActiveModules(IReadOnlyList<string> inStartOrder, Func<string, IReadOnlyList<string>> dependenciesOf)
    {
        InStartOrder = inStartOrder;
        _dependencies = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var module in inStartOrder)
        {
            _dependencies[module] = dependenciesOf(module);
        }
    }

    public IReadOnlyList<string> InStartOrder { get; }

    public bool Contains(string module) => _dependencies.ContainsKey(module);

    public IReadOnlyList<string> DependenciesOf(string module) => _dependencies[module];
}
