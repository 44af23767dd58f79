using System.Collections.Concurrent;
using Grpc.Net.Client;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Ring;

namespace Pyroscope.Ingester.Client;

/// <summary>
/// One gRPC channel per ingester address, created on first use and shared by all calls (a channel multiplexes
/// calls over its HTTP/2 connections); used by distributors (Push) and queriers (reads). Addresses are the ring's
/// host:port gRPC addresses (plain h2c). Channels of instances that left the ring are closed, and so are the channels
/// of instances that registered anew (<see cref="EvictDeparted"/>): a channel to a process that died waits out a growing
/// reconnect backoff (up to minutes) before it tries again, so its replacement would miss writes and reads meanwhile.
/// </summary>
public sealed class IngesterChannelPool : IDisposable
{
    // Profiles can be large; match upstream's generous gRPC message limits.
    private const int MaxMessageBytes = 100 * 1024 * 1024;

    private readonly ConcurrentDictionary<string, Lazy<GrpcChannel>> _channels = new(StringComparer.Ordinal);
    private readonly Lock _evicting = new();
    private Dictionary<string, long> _registeredAt = new(StringComparer.Ordinal);
    private long _checkedAtVersion = -1;

    public IngesterService.IngesterServiceClient GetClient(string grpcAddress) =>
        new(_channels.GetOrAdd(grpcAddress, static address => new Lazy<GrpcChannel>(() => Create(address))).Value);

    /// <summary>
    /// Closes the channels to addresses no longer in <paramref name="ring"/> (or only as LEFT tombstones) and to
    /// members whose registration time changed since the last check (a restarted process: the next call connects
    /// at once instead of waiting out the old channel's backoff). Checks once per ring version.
    /// </summary>
    public void EvictDeparted(RingSnapshot ring)
    {
        var checkedAt = Interlocked.Read(ref _checkedAtVersion);
        if (checkedAt == ring.Version || Interlocked.CompareExchange(ref _checkedAtVersion, ring.Version, checkedAt) != checkedAt)
        {
            return;
        }
        lock (_evicting)
        {
            var present = new Dictionary<string, long>(ring.Instances.Count, StringComparer.Ordinal);
            foreach (var instance in ring.Instances)
            {
                if (instance.State != InstanceState.Left)
                {
                    present[instance.GrpcAddr] = instance.RegisteredTimestampMs;
                }
            }
            foreach (var address in _channels.Keys)
            {
                if (!present.TryGetValue(address, out var registeredAt)
                    || (_registeredAt.TryGetValue(address, out var before) && before != registeredAt))
                {
                    Evict(address);
                }
            }
            _registeredAt = present;
        }
    }

    /// <summary>A snapshot of the addresses with a channel.</summary>
    public IReadOnlyCollection<string> Addresses => [.. _channels.Keys];

    public void Dispose()
    {
        foreach (var channel in _channels.Values)
        {
            if (channel.IsValueCreated)
            {
                channel.Value.Dispose();
            }
        }
        _channels.Clear();
    }

    private void Evict(string grpcAddress)
    {
        if (_channels.TryRemove(grpcAddress, out var channel) && channel.IsValueCreated)
        {
            channel.Value.Dispose();
        }
    }

    private static GrpcChannel Create(string address)
    {
        var uri = address.Contains("://", StringComparison.Ordinal) ? address : "http://" + address;
        return GrpcChannel.ForAddress(uri, new GrpcChannelOptions
        {
            MaxSendMessageSize = MaxMessageBytes,
            MaxReceiveMessageSize = MaxMessageBytes,
            HttpHandler = new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = true,
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
                KeepAlivePingDelay = TimeSpan.FromSeconds(30),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
                ConnectTimeout = TimeSpan.FromSeconds(5),
            },
        });
    }
}
