using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Pyroscope.Api;

/// <summary>Writes Connect-style error bodies, <c>{"code":"invalid_argument","message":"..."}</c>.</summary>
public static class ApiErrors
{
    public static Task WriteAsync(HttpContext context, ApiException error) =>
        WriteAsync(context, error.Code, error.Message, error.HttpStatus);

    public static async Task WriteAsync(HttpContext context, ConnectCode code, string message, int? httpStatus = null)
    {
        var response = context.Response;
        if (response.HasStarted)
        {
            return;
        }
        response.StatusCode = httpStatus ?? code.HttpStatus();
        response.ContentType = "application/json";
        response.Headers.ContentEncoding = default;
        await using var writer = new Utf8JsonWriter(response.Body);
        writer.WriteStartObject();
        writer.WriteString("code", code.WireName());
        writer.WriteString("message", message);
        writer.WriteEndObject();
        await writer.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs <paramref name="handler"/> and turns an <see cref="ApiException"/> into its error response, an
    /// <see cref="Model.UnavailableException"/> into 503 <c>unavailable</c> with its message, an aborted request into
    /// 499 and anything else into a 500 "internal" without leaking internals.
    /// </summary>
    public static async Task HandleAsync(HttpContext context, Func<HttpContext, Task> handler)
    {
        try
        {
            await handler(context).ConfigureAwait(false);
        }
        catch (ApiException e)
        {
            await WriteAsync(context, e).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            await WriteAsync(context, ConnectCode.Canceled, "request canceled by the client").ConfigureAwait(false);
        }
        catch (Model.RegexBudgetExceededException e)
        {
            await WriteAsync(context, ConnectCode.InvalidArgument, e.Message).ConfigureAwait(false);
        }
        catch (Model.UnavailableException e)
        {
            // The message names what is missing (ingesters, the object store); a partial answer would look complete.
            await WriteAsync(context, ConnectCode.Unavailable, e.Message).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e)
        {
            // Kestrel's own limits (MaxRequestBodySize, read timeouts) surface here.
            var code = e.StatusCode == 413 ? ConnectCode.ResourceExhausted : ConnectCode.InvalidArgument;
            await WriteAsync(context, code, e.Message, e.StatusCode).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            var logger = context.RequestServices.GetService(typeof(Microsoft.Extensions.Logging.ILoggerFactory)) as Microsoft.Extensions.Logging.ILoggerFactory;
            Microsoft.Extensions.Logging.LoggerExtensions.LogError(logger?.CreateLogger("Pyroscope.Api") ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance,
                e, "Unhandled error serving {Path}", context.Request.Path);
            await WriteAsync(context, ConnectCode.Internal, "internal error").ConfigureAwait(false);
        }
    }
}
