using Pyroscope.Model;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Pyroscope.Ring;
using Pyroscope.Ring.Kv;

namespace Pyroscope.Ring.Tests;

public sealed class RingOptionsTests
{
    private static IConfiguration Config(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    [Fact]
    public void Defaults_match_upstream()
    {
        var options = RingOptions.FromConfiguration(Config());
        Assert.Equal(RingStore.InMemory, options.Store);
        Assert.Equal(TimeSpan.FromSeconds(5), options.HeartbeatPeriod);
        Assert.Equal(TimeSpan.FromMinutes(1), options.HeartbeatTimeout);
        Assert.Equal(128, options.NumTokens);
        Assert.Equal(1, options.ReplicationFactor);
    }

    [Fact]
    public void Reads_every_documented_key()
    {
        var options = RingOptions.FromConfiguration(Config(
            ("ring:store", "redis"),
            ("ConnectionStrings:redis", "cache:6380"),
            ("ring:heartbeat_period", "250ms"),
            ("ring:heartbeat_timeout", "1m30s"),
            ("ring:num_tokens", "16"),
            ("ring:instance_id", "ingester-7"),
            ("ring:instance_addr", "10.0.0.7"),
            ("ring:instance_port", "9096"),
            ("ring:instance_availability_zone", "zone-b"),
            ("distributor:replication_factor", "3")));
        Assert.Equal(RingStore.Redis, options.Store);
        Assert.Equal("cache:6380", options.RedisAddress);
        Assert.Equal(TimeSpan.FromMilliseconds(250), options.HeartbeatPeriod);
        Assert.Equal(TimeSpan.FromSeconds(90), options.HeartbeatTimeout);
        Assert.Equal(16, options.NumTokens);
        Assert.Equal(3, options.ReplicationFactor);
        Assert.Equal(new RingInstanceInfo("ingester-7", "10.0.0.7:4040", "10.0.0.7:9096", "zone-b"), options.DefaultInstanceInfo());

        // An explicit address wins over the Aspire connection string.
        var explicitAddress = RingOptions.FromConfiguration(Config(("ring:redis:address", "a:1"), ("ConnectionStrings:redis", "b:2")));
        Assert.Equal("a:1", explicitAddress.RedisAddress);
    }

    [Theory]
    [InlineData("ring:store", "etcd", "ring:store")]
    [InlineData("ring:heartbeat_period", "5", "ring:heartbeat_period")]
    [InlineData("ring:heartbeat_timeout", "-1s", "ring:heartbeat_timeout")]
    [InlineData("ring:num_tokens", "zero", "ring:num_tokens")]
    [InlineData("distributor:replication_factor", "0", "distributor:replication_factor")]
    public void Bad_values_are_rejected_naming_the_key(string key, string value, string expectedInMessage)
    {
        var error = Assert.Throws<InvalidOperationException>(() => RingOptions.FromConfiguration(Config((key, value))));
        Assert.Contains(expectedInMessage, error.Message);
    }

    [Fact]
    public void Instance_ports_fall_back_to_the_server_listen_ports_and_addr_may_carry_one()
    {
        var fromServer = RingOptions.FromConfiguration(Config(("server:grpc_listen_port", "9195"), ("server:http_listen_port", "4140"), ("ring:instance_addr", "ingester-2")));
        Assert.Equal("ingester-2:9195", fromServer.DefaultInstanceInfo().GrpcAddr);
        Assert.Equal("ingester-2:4140", fromServer.DefaultInstanceInfo().Addr);

        var withPort = RingOptions.FromConfiguration(Config(("ring:instance_addr", "10.1.2.3:9300")));
        Assert.Equal("10.1.2.3:9300", withPort.DefaultInstanceInfo().GrpcAddr);
        Assert.Equal("10.1.2.3:4040", withPort.DefaultInstanceInfo().Addr);

        var ipv6 = RingOptions.FromConfiguration(Config(("ring:instance_addr", "[::1]:9301")));
        Assert.Equal("[::1]:9301", ipv6.DefaultInstanceInfo().GrpcAddr);
    }

    [Fact]
    public void Redis_store_without_an_address_is_rejected()
    {
        var error = Assert.Throws<InvalidOperationException>(() => RingOptions.FromConfiguration(Config(("ring:store", "redis"))));
        Assert.Contains("ConnectionStrings:redis", error.Message);
    }

    [Fact]
    public void AddRing_picks_the_configured_store_and_registers_the_client()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddRing(Config(("ring:store", "redis"), ("ring:redis:address", "127.0.0.1:1")));
        using var provider = services.BuildServiceProvider();
        Assert.IsType<RedisRingKvStore>(provider.GetRequiredService<IRingKvStore>());
        Assert.IsType<RingClient>(provider.GetRequiredService<IRing>());

        var monolith = new ServiceCollection().AddLogging();
        monolith.AddRingLifecycler(Config(("ring:instance_id", "solo")));
        using var monolithProvider = monolith.BuildServiceProvider();
        Assert.IsType<InMemoryRingKvStore>(monolithProvider.GetRequiredService<IRingKvStore>());
        Assert.Equal("solo", monolithProvider.GetRequiredService<RingLifecycler>().InstanceId);
    }
}
