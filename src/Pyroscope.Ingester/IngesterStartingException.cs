using Pyroscope.Api;

namespace Pyroscope.Ingester;

/// <summary>
/// A push or read reached the ingester while it is still replaying its WAL. Retryable: HTTP 503 / Connect and gRPC
/// <c>unavailable</c>, like upstream's ingester before it is ACTIVE in the ring.
/// </summary>
public sealed class IngesterStartingException()
    : ApiException(ConnectCode.Unavailable, "ingester is starting: its write-ahead log is being replayed; retry shortly");
