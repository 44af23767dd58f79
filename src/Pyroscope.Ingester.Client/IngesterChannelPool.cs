using System.Collections.Concurrent;
using Grpc.Net.Client;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Ring;

namespace Pyroscope.Ingester.Client;

/// <summary>
/// One gRPC channel per ingester address, created on first use and shared by all calls (a channel multiplexes
/// calls over its HTTP/2 connections); used by distributors (Push) and queriers (reads). Addresses are the ring's
/// host:port gRPC addresses (plain h2c). Channels of instances that left the ring are closed (<see cref="EvictDeparted"/>).
/// </summary>
public sealed class IngesterChannelPool : IDisposable
{
    // Profiles can be large; match upstream's generous gRPC message limits.
    private const int MaxMessageBytes = 100 * 1024 * 1024;

    private readonly ConcurrentDictionary<string, Lazy<GrpcChannel>> _channels = new(StringComparer.Ordinal);
    private long _checkedAtVersion = -1;

    public IngesterService.IngesterServiceClient GetClient(string grpcAddress) =>
        new(_channels.GetOrAdd(grpcAddress, static address => new Lazy<GrpcChannel>(() => Create(address))).Value);

    /// <summary>Closes the channels to addresses no longer in <paramref name="ring"/>; checks once per ring version.</summary>
    public void EvictDeparted(RingSnapshot ring)
    {
        var checkedAt = Interlocked.Read(ref _checkedAtVersion);
        if (checkedAt == ring.Version || Interlocked.CompareExchange(ref _checkedAtVersion, ring.Version, checkedAt) != checkedAt)
        {
            return;
        }
        var present = new HashSet<string>(StringComparer.Ordinal);
        foreach (var instance in ring.Instances)
        {
            present.Add(instance.GrpcAddr);
        }
        foreach (var address in _channels.Keys)
        {
            if (!present.Contains(address))
            {
                Evict(address);
            }
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
