using System.IO.Compression;
using System.Text;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Primitives;

namespace Pyroscope.Api.Connect;

/// <summary>
/// The Connect protocol's unary form (connectrpc.com/docs/protocol) for Google.Protobuf messages:
/// POST with <c>application/proto</c> or <c>application/json</c> (proto3 JSON), optional gzip both ways,
/// <c>Connect-Timeout-Ms</c>, errors as <c>{"code","message"}</c> with the code's HTTP status.
/// </summary>
public static class ConnectEndpoints
{
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default);

    public static IEndpointConventionBuilder MapConnectUnary<TRequest, TResponse>(
        this IEndpointRouteBuilder endpoints,
        string path,
        Func<TRequest, ConnectCallContext, CancellationToken, Task<TResponse>> handler,
        ConnectUnaryOptions? options = null)
        where TRequest : IMessage<TRequest>, new()
        where TResponse : IMessage<TResponse>
    {
        options ??= ConnectUnaryOptions.Default;
        var parser = new MessageParser<TRequest>(static () => new TRequest());
        return endpoints.MapPost(path, (HttpContext http) =>
            ApiErrors.HandleAsync(http, context => ServeAsync(context, parser, handler, options)))
            .WithMetadata(ConnectEndpointMetadata.Instance);
    }

    private static async Task ServeAsync<TRequest, TResponse>(
        HttpContext http,
        MessageParser<TRequest> parser,
        Func<TRequest, ConnectCallContext, CancellationToken, Task<TResponse>> handler,
        ConnectUnaryOptions options)
        where TRequest : IMessage<TRequest>, new()
        where TResponse : IMessage<TResponse>
    {
        var codec = CodecOf(http.Request.ContentType);
        if (codec is Codec.Unsupported)
        {
            http.Response.Headers["Accept-Post"] = "application/json, application/proto";
            throw new ApiException(ConnectCode.Unimplemented,
                $"unsupported content type \"{http.Request.ContentType}\" (Connect unary accepts application/proto or application/json)", 415);
        }
        var version = http.Request.Headers["Connect-Protocol-Version"].ToString();
        if (version.Length > 0 && version != "1")
        {
            throw ApiException.InvalidArgument($"Connect-Protocol-Version must be \"1\", got \"{version}\"");
        }

        using var timeout = TimeoutSource(http);
        var cancellationToken = timeout?.Token ?? http.RequestAborted;
        var call = new ConnectCallContext(http);
        // The tenant first: without one (multitenancy on) the answer is 401 before a byte of the body is read.
        _ = call.TenantId;
        var limit = options.RequestLimitFor?.Invoke(call) ?? new RequestLimit(options.MaxRequestBytes, options.LimitName);
        TRequest request;
        try
        {
            using var body = await RequestBody.ReadAsync(http.Request, limit.Bytes, limit.Name, cancellationToken).ConfigureAwait(false);
            (request, call.RequestBytes) = Decode(parser, body, limit.Bytes, codec);
        }
        catch (OperationCanceledException) when (timeout is not null && timeout.IsCancellationRequested && !http.RequestAborted.IsCancellationRequested)
        {
            throw new ApiException(ConnectCode.DeadlineExceeded, "the Connect-Timeout-Ms deadline expired while the request body was arriving", StatusCodes.Status408RequestTimeout);
        }

        TResponse response;
        try
        {
            response = await handler(request, call, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout is not null && timeout.IsCancellationRequested && !http.RequestAborted.IsCancellationRequested)
        {
            throw new ApiException(ConnectCode.DeadlineExceeded, "the Connect-Timeout-Ms deadline was exceeded");
        }

        var payload = codec is Codec.Json
            ? Encoding.UTF8.GetBytes(Formatter.Format(response))
            : response.ToByteArray();
        http.Response.StatusCode = 200;
        http.Response.ContentType = codec is Codec.Json ? "application/json" : "application/proto";
        if (payload.Length >= options.CompressMinBytes && AcceptsGzip(http.Request.Headers.AcceptEncoding))
        {
            http.Response.Headers.ContentEncoding = "gzip";
            await using var gzip = new GZipStream(http.Response.Body, CompressionLevel.Fastest, leaveOpen: true);
            await gzip.WriteAsync(payload, http.RequestAborted).ConfigureAwait(false);
        }
        else
        {
            http.Response.ContentLength = payload.Length;
            await http.Response.Body.WriteAsync(payload, http.RequestAborted).ConfigureAwait(false);
        }
    }

    /// <summary>The request message and its decoded size; protobuf is parsed as the body decompresses.</summary>
    private static (TRequest Request, long Bytes) Decode<TRequest>(MessageParser<TRequest> parser, RequestBody body, long limit, Codec codec)
        where TRequest : IMessage<TRequest>, new()
    {
        try
        {
            if (codec is Codec.Proto)
            {
                using var stream = body.OpenDecoded(limit);
                var message = parser.ParseFrom(stream);
                return (message, stream.BytesRead);
            }
            var bytes = body.Decoded(limit);
            var text = Encoding.UTF8.GetString(bytes.Span);
            return (string.IsNullOrWhiteSpace(text) ? new TRequest() : Parser.Parse<TRequest>(text), bytes.Length);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw ApiException.InvalidArgument($"unmarshal {typeof(TRequest).Name} ({(codec is Codec.Json ? "json" : "proto")}): {e.Message}", e);
        }
        catch (InvalidJsonException e)
        {
            throw ApiException.InvalidArgument($"unmarshal {typeof(TRequest).Name} (json): {e.Message}", e);
        }
        catch (FormatException e)
        {
            throw ApiException.InvalidArgument($"unmarshal {typeof(TRequest).Name} (json): {e.Message}", e);
        }
    }

    private static CancellationTokenSource? TimeoutSource(HttpContext http)
    {
        var text = http.Request.Headers["Connect-Timeout-Ms"].ToString();
        if (text.Length == 0)
        {
            return null;
        }
        if (!long.TryParse(text, out var ms) || ms <= 0 || text.Length > 10)
        {
            throw ApiException.InvalidArgument($"invalid Connect-Timeout-Ms \"{text}\"");
        }
        var source = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        source.CancelAfter(TimeSpan.FromMilliseconds(ms));
        return source;
    }

    private enum Codec
    {
        Unsupported,
        Proto,
        Json,
    }

    private static Codec CodecOf(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType))
        {
            return Codec.Unsupported;
        }
        var semicolon = contentType.IndexOf(';');
        var media = (semicolon >= 0 ? contentType[..semicolon] : contentType).Trim();
        if (media.Equals("application/proto", StringComparison.OrdinalIgnoreCase)
            || media.Equals("application/protobuf", StringComparison.OrdinalIgnoreCase)
            || media.Equals("application/x-protobuf", StringComparison.OrdinalIgnoreCase))
        {
            return Codec.Proto;
        }
        return media.Equals("application/json", StringComparison.OrdinalIgnoreCase) ? Codec.Json : Codec.Unsupported;
    }

    private static bool IsZeroQuality(string token)
    {
        var q = token.IndexOf("q=", StringComparison.OrdinalIgnoreCase);
        return q >= 0
            && double.TryParse(token.AsSpan(q + 2).Trim(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var quality)
            && quality <= 0;
    }

    public static bool AcceptsGzip(StringValues acceptEncoding)
    {
        foreach (var value in acceptEncoding)
        {
            if (value is null)
            {
                continue;
            }
            foreach (var part in value.Split(','))
            {
                var token = part.Trim();
                var semicolon = token.IndexOf(';');
                var name = semicolon >= 0 ? token[..semicolon].Trim() : token;
                if (name.Equals("gzip", StringComparison.OrdinalIgnoreCase) && !IsZeroQuality(token))
                {
                    return true;
                }
            }
        }
        return false;
    }
}
