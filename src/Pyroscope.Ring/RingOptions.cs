using System.Globalization;
using System.Net;
using Microsoft.Extensions.Configuration;
using Pyroscope.Model;

namespace Pyroscope.Ring;

/// <summary>Which KV store holds the ring.</summary>
public enum RingStore
{
    InMemory,
    Redis,
}

/// <summary>
/// Ring settings. Configuration keys (durations in <see cref="DurationText"/>'s grammar: "5s", "1m30s", "1d", "hh:mm:ss"):
/// <list type="table">
/// <item><term>ring:store</term><description>inmemory (default, monolith) | redis</description></item>
/// <item><term>ring:redis:address</term><description>host:port or a StackExchange.Redis configuration string; falls back to ConnectionStrings:redis (Aspire's ConnectionStrings__redis)</description></item>
/// <item><term>ring:key</term><description>KV key of the ingester ring (default "collectors/ring")</description></item>
/// <item><term>ring:heartbeat_period</term><description>lifecycler heartbeat period (default 5s)</description></item>
/// <item><term>ring:heartbeat_timeout</term><description>a member whose heartbeat is older is unhealthy (default 1m)</description></item>
/// <item><term>ring:poll_interval</term><description>how often clients re-read the ring besides change notifications (default 1s)</description></item>
/// <item><term>ring:auto_forget_unhealthy_periods</term><description>a lifecycler removes members unhealthy for this many heartbeat timeouts (default 10, 0 = never)</description></item>
/// <item><term>ring:num_tokens</term><description>tokens per instance (default 128)</description></item>
/// <item><term>ring:instance_id</term><description>member id (default hostname-grpcport)</description></item>
/// <item><term>ring:instance_addr</term><description>host or IP other components reach this instance at (default hostname); a host:port here also sets the gRPC port</description></item>
/// <item><term>ring:instance_port</term><description>gRPC port advertised in the ring (default server:grpc_listen_port, else 9095)</description></item>
/// <item><term>ring:instance_http_port</term><description>HTTP port advertised in the ring (default server:http_listen_port, else 4040)</description></item>
/// <item><term>ring:instance_availability_zone</term><description>zone for zone-aware replication (default none)</description></item>
/// <item><term>distributor:replication_factor</term><description>replicas per series (default 1)</description></item>
/// </list>
/// </summary>
public sealed class RingOptions
{
    public const string DefaultKey = "collectors/ring";

    public RingStore Store { get; set; } = RingStore.InMemory;

    public string? RedisAddress { get; set; }

    public string Key { get; set; } = DefaultKey;

    public TimeSpan HeartbeatPeriod { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan HeartbeatTimeout { get; set; } = TimeSpan.FromMinutes(1);

    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    public int NumTokens { get; set; } = 128;

    /// <summary>Members whose heartbeat is older than this many timeouts are removed by live lifecyclers (0: never), as upstream's auto-forget.</summary>
    public int AutoForgetUnhealthyPeriods { get; set; } = 10;

    public int ReplicationFactor { get; set; } = 1;

    public string? InstanceId { get; set; }

    public string? InstanceAddr { get; set; }

    public int InstancePort { get; set; } = DefaultPorts.Grpc;

    public int InstanceHttpPort { get; set; } = DefaultPorts.Http;

    public string? InstanceZone { get; set; }

    /// <summary>Reads the documented keys; a malformed value throws naming the key.</summary>
    public static RingOptions FromConfiguration(IConfiguration configuration)
    {
        var ring = configuration.GetSection("ring");
        var options = new RingOptions();
        var store = ring["store"];
        if (!string.IsNullOrWhiteSpace(store))
        {
            options.Store = store.Trim().ToLowerInvariant() switch
            {
                "inmemory" or "memory" => RingStore.InMemory,
                "redis" => RingStore.Redis,
                _ => throw new InvalidOperationException($"ring:store must be 'inmemory' or 'redis', not '{store}'."),
            };
        }
        options.RedisAddress = NonEmpty(ring["redis:address"]) ?? NonEmpty(configuration.GetConnectionString("redis"));
        options.Key = NonEmpty(ring["key"]) ?? DefaultKey;
        options.HeartbeatPeriod = Duration(ring, "heartbeat_period", options.HeartbeatPeriod);
        options.HeartbeatTimeout = Duration(ring, "heartbeat_timeout", options.HeartbeatTimeout);
        options.PollInterval = Duration(ring, "poll_interval", options.PollInterval);
        options.NumTokens = Integer(ring, "num_tokens", options.NumTokens, min: 1);
        options.AutoForgetUnhealthyPeriods = Integer(ring, "auto_forget_unhealthy_periods", options.AutoForgetUnhealthyPeriods, min: 0);
        options.InstanceId = NonEmpty(ring["instance_id"]);
        options.InstanceAddr = NonEmpty(ring["instance_addr"]);
        var server = configuration.GetSection("server");
        options.InstancePort = Integer(ring, "instance_port", Integer(server, "grpc_listen_port", options.InstancePort, min: 1), min: 1);
        options.InstanceHttpPort = Integer(ring, "instance_http_port", Integer(server, "http_listen_port", options.InstanceHttpPort, min: 1), min: 1);
        if (options.InstanceAddr is { } addr && SplitHostPort(addr) is ({ } host, { } port))
        {
            options.InstanceAddr = host;
            options.InstancePort = port;
        }
        options.InstanceZone = NonEmpty(ring["instance_availability_zone"]);
        options.ReplicationFactor = Integer(configuration.GetSection("distributor"), "replication_factor", options.ReplicationFactor, min: 1);
        if (options.Store == RingStore.Redis && options.RedisAddress is null)
        {
            throw new InvalidOperationException("ring:store is 'redis' but neither ring:redis:address nor ConnectionStrings:redis is set.");
        }
        return options;
    }

    /// <summary>This process's ring identity from the instance_* settings.</summary>
    public RingInstanceInfo DefaultInstanceInfo()
    {
        var host = InstanceAddr ?? Dns.GetHostName();
        return new RingInstanceInfo(
            InstanceId ?? $"{Dns.GetHostName()}-{InstancePort}",
            $"{host}:{InstanceHttpPort}",
            $"{host}:{InstancePort}",
            InstanceZone);
    }

    /// <summary>"host:port" or "[v6]:port" → parts; a bare host or IPv6 address → null.</summary>
    private static (string Host, int Port)? SplitHostPort(string address)
    {
        var colon = address.LastIndexOf(':');
        if (colon <= 0 || (address.IndexOf(':') != colon && !address.StartsWith('[')))
        {
            return null;
        }
        if (!int.TryParse(address.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            return null;
        }
        return (address[..colon], port);
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static int Integer(IConfiguration section, string key, int fallback, int min)
    {
        var raw = section[key];
        if (string.IsNullOrWhiteSpace(raw))
        {
            return fallback;
        }
        if (!int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min)
        {
            throw new InvalidOperationException($"{Path(section, key)} must be an integer >= {min}, not '{raw}'.");
        }
        return value;
    }

    private static TimeSpan Duration(IConfiguration section, string key, TimeSpan fallback)
    {
        var raw = section[key];
        if (string.IsNullOrWhiteSpace(raw))
        {
            return fallback;
        }
        if (!DurationText.TryParse(raw, out var value) || value <= TimeSpan.Zero)
        {
            throw new InvalidOperationException($"{Path(section, key)} must be a positive duration such as '5s' or '1m', not '{raw}'.");
        }
        return value;
    }

    private static string Path(IConfiguration section, string key) =>
        section is IConfigurationSection s ? $"{s.Path}:{key}" : key;
}

/// <summary>What a lifecycler advertises about its instance.</summary>
public sealed record RingInstanceInfo(string Id, string Addr, string GrpcAddr, string? Zone = null);
