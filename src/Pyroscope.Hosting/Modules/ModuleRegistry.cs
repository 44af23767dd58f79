namespace Pyroscope.Hosting.Modules;

public sealed class ModuleRegistryException(string message) : Exception(message);

/// <summary>
/// All modules and the one table of their dependencies. Unknown names and cycles are rejected when
/// registered; a target expands to its dependency closure in start order (dependencies first).
/// </summary>
public sealed class ModuleRegistry
{
    private readonly Dictionary<string, ModuleDefinition> _modules = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string[]> _dependencies = new(StringComparer.Ordinal);

    public IReadOnlyCollection<ModuleDefinition> Modules => _modules.Values;

    public ModuleDefinition this[string name] => _modules[name];

    public bool Contains(string name) => _modules.ContainsKey(name);

    public IReadOnlyList<string> DependenciesOf(string name) => _dependencies.TryGetValue(name, out var deps) ? deps : [];

    public ModuleRegistry Register(ModuleDefinition module)
    {
        if (!IsKebabCase(module.Name))
        {
            throw new ModuleRegistryException($"module name \"{module.Name}\" is not kebab-case");
        }
        if (!_modules.TryAdd(module.Name, module))
        {
            throw new ModuleRegistryException($"module \"{module.Name}\" is already registered");
        }
        return this;
    }

    /// <summary>Declares that <paramref name="module"/> needs <paramref name="dependencies"/> started first.</summary>
    public ModuleRegistry DependsOn(string module, params string[] dependencies)
    {
        RequireKnown(module);
        foreach (var dependency in dependencies)
        {
            RequireKnown(dependency);
        }
        var previous = _dependencies.TryGetValue(module, out var existing) ? existing : null;
        _dependencies[module] = previous is null ? [.. dependencies] : [.. previous, .. dependencies];
        var cycle = FindCycleFrom(module);
        if (cycle is not null)
        {
            if (previous is null)
            {
                _dependencies.Remove(module);
            }
            else
            {
                _dependencies[module] = previous;
            }
            throw new ModuleRegistryException($"dependency cycle: {string.Join(" -> ", cycle)}");
        }
        return this;
    }

    /// <summary>
    /// Expands targets to their closure, ordered so that every module comes after its dependencies.
    /// Ties keep a stable order (depth-first in declaration order), so start-up is reproducible.
    /// </summary>
    public IReadOnlyList<string> Expand(IEnumerable<string> targets)
    {
        var order = new List<string>();
        var visited = new HashSet<string>(StringComparer.Ordinal);
        var any = false;
        foreach (var target in targets)
        {
            any = true;
            if (!_modules.TryGetValue(target, out var module))
            {
                throw new ModuleRegistryException($"unrecognised module name \"{target}\"; run with -modules to list them");
            }
            if (!module.Targetable)
            {
                throw new ModuleRegistryException($"module \"{target}\" cannot be used as a target");
            }
            Visit(target, visited, order);
        }
        if (!any)
        {
            throw new ModuleRegistryException("no modules specified");
        }
        return order;
    }

    /// <summary>The lines of <c>-modules</c>: user-visible modules, sorted, with " *" on those inside <c>all</c>.</summary>
    public IReadOnlyList<string> DescribeUserVisible()
    {
        var inAll = _modules.ContainsKey(ModuleNames.All)
            ? new HashSet<string>(Expand([ModuleNames.All]), StringComparer.Ordinal)
            : [];
        var names = new List<string>();
        foreach (var module in _modules.Values)
        {
            if (module.UserVisible)
            {
                names.Add(module.Name);
            }
        }
        names.Sort(StringComparer.Ordinal);
        var lines = new List<string>(names.Count);
        foreach (var name in names)
        {
            lines.Add(inAll.Contains(name) && name != ModuleNames.All ? name + " *" : name);
        }
        return lines;
    }

    private void Visit(string name, HashSet<string> visited, List<string> order)
    {
        if (!visited.Add(name))
        {
            return;
        }
        foreach (var dependency in DependenciesOf(name))
        {
            Visit(dependency, visited, order);
        }
        order.Add(name);
    }

    private List<string>? FindCycleFrom(string start)
    {
        var path = new List<string>();
        var onPath = new HashSet<string>(StringComparer.Ordinal);
        return Search(start);

        List<string>? Search(string node)
        {
            path.Add(node);
            onPath.Add(node);
            foreach (var next in DependenciesOf(node))
            {
                if (next == start)
                {
                    return [.. path, next];
                }
                if (!onPath.Contains(next))
                {
                    var found = Search(next);
                    if (found is not null)
                    {
                        return found;
                    }
                }
            }
            path.RemoveAt(path.Count - 1);
            onPath.Remove(node);
            return null;
        }
    }

    private void RequireKnown(string name)
    {
        if (!_modules.ContainsKey(name))
        {
            throw new ModuleRegistryException($"unknown module \"{name}\" in the dependency table");
        }
    }

    private static bool IsKebabCase(string name)
    {
        if (name.Length == 0 || name[0] == '-' || name[^1] == '-')
        {
            return false;
        }
        foreach (var c in name)
        {
            if (!(c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-'))
            {
                return false;
            }
        }
        return true;
    }
}
