using Pyroscope.Hosting;
using Pyroscope.Hosting.Modules;

namespace Pyroscope.Hosting.Tests;

public class ModuleRegistryTests
{
    private static ModuleRegistry Table() => PyroscopeModules.CreateRegistry();

    [Fact]
    public void A_target_expands_to_its_closure_with_dependencies_first()
    {
        var order = Table().Expand([ModuleNames.Ingester]);
        Assert.Equal([ModuleNames.Server, ModuleNames.Api, ModuleNames.Overrides, ModuleNames.Ring, ModuleNames.Storage, ModuleNames.Ingester], order);
        Assert.DoesNotContain(ModuleNames.Distributor, order);
    }

    [Fact]
    public void All_runs_every_component_once_after_its_dependencies()
    {
        var registry = Table();
        var order = registry.Expand([ModuleNames.All]);
        Assert.Equal(order.Count, order.Distinct().Count());
        Assert.Equal(ModuleNames.All, order[^1]);
        foreach (var module in order)
        {
            foreach (var dependency in registry.DependenciesOf(module))
            {
                Assert.True(order.ToList().IndexOf(dependency) < order.ToList().IndexOf(module), $"{dependency} must start before {module}");
            }
        }
        Assert.Contains(ModuleNames.Distributor, order);
        Assert.Contains(ModuleNames.Querier, order);
        Assert.Contains(ModuleNames.TenantSettings, order);
    }

    [Fact]
    public void Tenant_settings_is_a_target_of_its_own_needing_only_the_server_api_and_object_store()
    {
        var order = Table().Expand([ModuleNames.TenantSettings]);
        Assert.Equal([ModuleNames.Server, ModuleNames.Api, ModuleNames.Storage, ModuleNames.TenantSettings], order);
    }

    [Fact]
    public void A_comma_list_of_targets_shares_dependencies()
    {
        var order = Table().Expand([ModuleNames.Distributor, ModuleNames.Querier]);
        Assert.Single(order, m => m == ModuleNames.Server);
        Assert.Contains(ModuleNames.Distributor, order);
        Assert.Contains(ModuleNames.Querier, order);
        Assert.DoesNotContain(ModuleNames.Ingester, order);
    }

    [Fact]
    public void Cycles_are_rejected_when_declared_and_leave_the_table_unchanged()
    {
        var registry = new ModuleRegistry()
            .Register(ModuleDefinition.Target("a", null))
            .Register(ModuleDefinition.Target("b", null))
            .Register(ModuleDefinition.Target("c", null))
            .DependsOn("a", "b")
            .DependsOn("b", "c");
        var error = Assert.Throws<ModuleRegistryException>(() => registry.DependsOn("c", "a"));
        Assert.Contains("c -> a -> b -> c", error.Message);
        Assert.Empty(registry.DependenciesOf("c"));
        Assert.Equal(["c", "b", "a"], registry.Expand(["a"]));
    }

    [Fact]
    public void Self_dependency_is_a_cycle()
    {
        var registry = new ModuleRegistry().Register(ModuleDefinition.Target("a", null));
        Assert.Throws<ModuleRegistryException>(() => registry.DependsOn("a", "a"));
    }

    [Fact]
    public void Unknown_names_are_rejected_at_registration_and_expansion()
    {
        var registry = Table();
        Assert.Contains("\"nope\"", Assert.Throws<ModuleRegistryException>(() => registry.DependsOn(ModuleNames.Querier, "nope")).Message);
        Assert.Contains("\"nope\"", Assert.Throws<ModuleRegistryException>(() => registry.DependsOn("nope", ModuleNames.Server)).Message);
        Assert.Contains("unrecognised module name \"bogus\"", Assert.Throws<ModuleRegistryException>(() => registry.Expand(["bogus"])).Message);
        Assert.Throws<ModuleRegistryException>(() => registry.Register(ModuleDefinition.Target(ModuleNames.Querier, null)));
        Assert.Throws<ModuleRegistryException>(() => registry.Register(ModuleDefinition.Target("Not_Kebab", null)));
    }

    [Fact]
    public void Internal_modules_cannot_be_targets_and_empty_targets_are_an_error()
    {
        var registry = Table();
        Assert.Contains("cannot be used as a target", Assert.Throws<ModuleRegistryException>(() => registry.Expand([ModuleNames.Server])).Message);
        Assert.Equal("no modules specified", Assert.Throws<ModuleRegistryException>(() => registry.Expand([])).Message);
    }

    [Fact]
    public void Modules_listing_is_the_user_visible_modules_sorted_with_stars_for_all()
    {
        var text = PyroscopeProgram.DescribeModules(Table());
        Assert.Equal("all\ncompactor *\ndistributor *\ningester *\nquerier *\ntenant-settings *\n\nModules marked with * are included in target All.\n", text);
    }

    [Fact]
    public void A_new_module_appears_in_the_listing_driven_by_the_table()
    {
        var registry = Table()
            .Register(ModuleDefinition.Target("store-gateway", null))
            .Register(ModuleDefinition.Target("admin", null))
            .DependsOn("store-gateway", ModuleNames.Storage)
            .DependsOn(ModuleNames.All, "store-gateway");
        var lines = PyroscopeProgram.DescribeModules(registry).Split('\n');
        Assert.Contains("store-gateway *", lines);
        Assert.Contains("admin", lines);
        Assert.Equal(["admin", "all", "compactor *", "distributor *", "ingester *", "querier *", "store-gateway *", "tenant-settings *"], lines.TakeWhile(l => l.Length > 0));
    }
}
