namespace Pyroscope.Model;

/// <summary>
/// A part of the system a request needs cannot be reached, or too few of its replicas can (ingesters, the object
/// store): the request fails as a whole, with a message naming what is missing, rather than answering with partial
/// data as if it were complete. The APIs answer it with HTTP 503 and the code <c>unavailable</c>; retrying later may
/// succeed.
/// </summary>
public class UnavailableException(string message, Exception? inner = null) : Exception(message, inner);
