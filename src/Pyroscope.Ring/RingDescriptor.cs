using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pyroscope.Ring;

/// <summary>
/// Lifecycle state of a ring member, as upstream's ring (PENDING is not used: tokens are generated at join).
/// LEFT, as in dskit's memberlist, is a tombstone: the member stopped gracefully after handing everything it held to
/// the object store, so readers take its data from there instead of counting it as missing. A tombstone owns no
/// token ranges; it keeps its tokens for a restart under the same id and is forgotten like any silent member.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<InstanceState>))]
public enum InstanceState
{
    [JsonStringEnumMemberName("JOINING")] Joining,
    [JsonStringEnumMemberName("ACTIVE")] Active,
    [JsonStringEnumMemberName("LEAVING")] Leaving,
    [JsonStringEnumMemberName("LEFT")] Left,
}

/// <summary>One ring member. Tokens are sorted ascending; timestamps are unix milliseconds.</summary>
public sealed class InstanceDesc
{
    public required string Id { get; set; }

    /// <summary>HTTP address (host:port) of the instance.</summary>
    public string Addr { get; set; } = "";

    /// <summary>gRPC address (host:port) the distributor pushes to.</summary>
    public string GrpcAddr { get; set; } = "";

    public string? Zone { get; set; }

    public InstanceState State { get; set; }

    public uint[] Tokens { get; set; } = [];

    public long HeartbeatTimestampMs { get; set; }

    /// <summary>When the process now holding this id registered (a restart registers anew: clients reconnect to it).</summary>
    public long RegisteredTimestampMs { get; set; }

    public bool IsHeartbeatFresh(long nowMs, TimeSpan heartbeatTimeout) =>
        nowMs - HeartbeatTimestampMs <= (long)heartbeatTimeout.TotalMilliseconds;
}

/// <summary>The whole ring as stored under one KV key.</summary>
public sealed class RingDescriptor
{
    public Dictionary<string, InstanceDesc> Instances { get; set; } = new(StringComparer.Ordinal);

    public byte[] Serialize() => JsonSerializer.SerializeToUtf8Bytes(this, RingJsonContext.Default.RingDescriptor);

    /// <summary>Decodes a stored descriptor; an absent value is an empty ring.</summary>
    public static RingDescriptor Deserialize(ReadOnlySpan<byte> utf8Json)
    {
        if (utf8Json.IsEmpty)
        {
            return new RingDescriptor();
        }
        try
        {
            var descriptor = JsonSerializer.Deserialize(utf8Json, RingJsonContext.Default.RingDescriptor) ?? new RingDescriptor();
            // The JSON dictionary is created with the default comparer; keep ordinal semantics explicit.
            descriptor.Instances = new Dictionary<string, InstanceDesc>(descriptor.Instances, StringComparer.Ordinal);
            return descriptor;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The ring descriptor in the KV store is not valid JSON: {e.Message}", e);
        }
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(RingDescriptor))]
[JsonSerializable(typeof(RingStatusJson))]
internal sealed partial class RingJsonContext : JsonSerializerContext;
