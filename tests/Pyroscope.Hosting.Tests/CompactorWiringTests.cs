using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pyroscope.Hosting.Modules;
using Pyroscope.Storage.Compaction;

namespace Pyroscope.Hosting.Tests;

public class CompactorWiringTests
{
    [Fact]
    public async Task The_compactor_module_applies_per_tenant_retention_from_limits_and_overrides()
    {
        var dir = Directory.CreateTempSubdirectory("compactor-wiring-").FullName;
        try
        {
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["storage:backend"] = "filesystem",
                ["storage:filesystem:dir"] = dir,
                ["limits:compactor_blocks_retention_period"] = "30d",
                ["overrides:short-lived:compactor_blocks_retention_period"] = "2d",
            }).Build();
            var registry = PyroscopeModules.CreateRegistry([]);
            var modules = registry.Expand([ModuleNames.Compactor]);
            var services = new ServiceCollection().AddLogging().AddMetrics();
            var context = new ModuleContext(services, configuration, new HashSet<string>(modules));
            foreach (var module in modules)
            {
                registry[module].Init?.Invoke(context);
            }
            await using var provider = services.BuildServiceProvider();
            foreach (var service in provider.GetServices<IModuleService>())
            {
                await service.StartAsync(TestContext.Current.CancellationToken);
            }

            var compactor = provider.GetRequiredService<Compactor>();
            Assert.NotNull(compactor.RetentionForTenant);
            Assert.Equal(TimeSpan.FromDays(30), compactor.RetentionForTenant("anonymous"));
            Assert.Equal(TimeSpan.FromDays(2), compactor.RetentionForTenant("short-lived"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
