using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Pyroscope.Compactor.Tests;

public class CompactorWiringTests
{
    [Fact]
    public void AddCompactor_applies_per_tenant_retention_from_limits_and_overrides_and_registers_its_service()
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
            var services = new ServiceCollection().AddLogging().AddMetrics();
            services.AddCompactor(configuration);
            using var provider = services.BuildServiceProvider();

            var compactor = provider.GetRequiredService<Compactor>();
            Assert.NotNull(compactor.RetentionForTenant);
            Assert.Equal(TimeSpan.FromDays(30), compactor.RetentionForTenant("anonymous"));
            Assert.Equal(TimeSpan.FromDays(2), compactor.RetentionForTenant("short-lived"));
            Assert.Single(provider.GetServices<IHostedService>().OfType<CompactorService>());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
