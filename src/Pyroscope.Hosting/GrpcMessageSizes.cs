using System.Globalization;
using Microsoft.Extensions.Configuration;
using Pyroscope.Hosting.Configuration;

namespace Pyroscope.Hosting;

/// <summary>
/// The largest gRPC message the server takes and sends (<c>-server.grpc-max-recv-msg-size-bytes</c>,
/// <c>-server.grpc-max-send-msg-size-bytes</c>). Upstream's default is 100 MiB, not gRPC's own 4 MiB: a distributor
/// forwards every profile its limits admit to the ingesters in one message, so the ingesters must take at least that.
/// </summary>
public static class GrpcMessageSizes
{
    public const int DefaultBytes = 100 << 20;

    public const string ReceiveKey = "server:grpc_server_max_recv_msg_size";

    public const string SendKey = "server:grpc_server_max_send_msg_size";

    public static int Receive(IConfiguration configuration) => Read(configuration, ReceiveKey, "-server.grpc-max-recv-msg-size-bytes");

    public static int Send(IConfiguration configuration) => Read(configuration, SendKey, "-server.grpc-max-send-msg-size-bytes");

    private static int Read(IConfiguration configuration, string key, string flag)
    {
        var text = configuration[key];
        if (string.IsNullOrEmpty(text))
        {
            return DefaultBytes;
        }
        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value > 0
            ? value
            : throw new ConfigurationException($"invalid value \"{text}\" for {key} ({flag}): not a positive number of bytes");
    }
}
