namespace Pyroscope.Api;

/// <summary>
/// A refusal a handler raises on purpose: bad input, missing tenant, limit exceeded. The message is shown
/// to the client as is, so it names what was wrong. <see cref="HttpStatusOverride"/> covers the few
/// places where upstream answers with a status other than the code's default (413 for a body over limit).
/// </summary>
public class ApiException : Exception
{
    public ApiException(ConnectCode code, string message, int? httpStatusOverride = null, Exception? inner = null)
        : base(message, inner)
    {
        Code = code;
        HttpStatusOverride = httpStatusOverride;
    }

    public ConnectCode Code { get; }

    public int? HttpStatusOverride { get; }

    public int HttpStatus => HttpStatusOverride ?? Code.HttpStatus();

    public static ApiException InvalidArgument(string message, Exception? inner = null) => new(ConnectCode.InvalidArgument, message, null, inner);

    public static ApiException Unauthenticated(string message) => new(ConnectCode.Unauthenticated, message);

    public static ApiException ResourceExhausted(string message, Exception? inner = null) => new(ConnectCode.ResourceExhausted, message, null, inner);

    /// <summary>Request body over the configured size: 413, code resource_exhausted.</summary>
    public static ApiException BodyTooLarge(long limitBytes, string limitName = "ingestion_body_limit_mb") =>
        new(ConnectCode.ResourceExhausted, $"request body too large: exceeds the limit of {limitBytes} bytes ({limitName})", 413);
}
