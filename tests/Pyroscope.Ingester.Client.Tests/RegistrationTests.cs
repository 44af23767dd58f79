using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Pyroscope.Model;
using Pyroscope.Ring;
using Pyroscope.Storage;

namespace Pyroscope.Ingester.Client.Tests;

public sealed class RegistrationTests
{
    [Fact]
    public void The_helpers_register_the_concrete_clients_with_one_channel_pool_and_leave_the_seams_to_the_composition()
    {
        var configuration = new ConfigurationBuilder().Build();
        var services = new ServiceCollection().AddLogging()
            .AddRingIngesterClient(configuration)
            .AddStoreAndIngestersReader(configuration);

        Assert.Single(services, d => d.ServiceType == typeof(IngesterChannelPool));
        Assert.Single(services, d => d.ServiceType == typeof(RingIngesterClient));
        Assert.Single(services, d => d.ServiceType == typeof(RemoteIngestersReader));
        Assert.Single(services, d => d.ServiceType == typeof(StoreAndIngestersReader));
        Assert.Contains(services, d => d.ServiceType == typeof(IRing));
        Assert.DoesNotContain(services, d => d.ServiceType == typeof(IIngesterClient));
        // No reader binding beyond what the block store reader's own registration brings.
        var storeOnly = new ServiceCollection().AddBlockStoreReader(configuration);
        Assert.Equal(storeOnly.Count(d => d.ServiceType == typeof(IProfileReader)), services.Count(d => d.ServiceType == typeof(IProfileReader)));

        using var provider = services.BuildServiceProvider();
        Assert.NotNull(provider.GetRequiredService<RingIngesterClient>());
        Assert.NotNull(provider.GetRequiredService<RemoteIngestersReader>());
    }
}
