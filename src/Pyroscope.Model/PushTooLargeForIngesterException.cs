namespace Pyroscope.Model;

/// <summary>
/// A push the distributor's limits admitted is larger than a gRPC message between it and an ingester may be
/// (the ingester's <c>-server.grpc-max-recv-msg-size-bytes</c>, or the 100 MiB its client sends at most). Nothing of
/// it was stored, and sending it again cannot succeed: clients see 413 / <c>resource_exhausted</c>, not the series
/// limit's 429 that tells them to retry later.
/// </summary>
public sealed class PushTooLargeForIngesterException(string message) : Exception(message)
{
    public const string ReceiveLimitFlag = "-server.grpc-max-recv-msg-size-bytes";
}
