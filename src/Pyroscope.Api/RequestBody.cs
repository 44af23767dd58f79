using System.Buffers;
using System.IO.Compression;
using Microsoft.AspNetCore.Http;

namespace Pyroscope.Api;

/// <summary>Reads request bodies with a hard size limit, undoing <c>Content-Encoding: gzip</c> within the same limit.</summary>
public static class RequestBody
{
    /// <summary>
    /// Reads the whole body. Over <paramref name="limitBytes"/> (raw or decompressed) → 413; a broken gzip
    /// stream → 400; a client that stops sending → 408, as upstream's ingest handler answers.
    /// </summary>
    public static async Task<byte[]> ReadAsync(HttpRequest request, long limitBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength is { } declared && declared > limitBytes)
        {
            throw ApiException.BodyTooLarge(limitBytes);
        }
        // Kestrel's own cap (30 MB by default) would otherwise cut tenants with a larger limit short.
        if (request.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = limitBytes == long.MaxValue ? null : limitBytes + 1;
        }
        var encoding = ContentEncoding(request);
        byte[] raw;
        try
        {
            raw = await ReadCappedAsync(request.Body, limitBytes, (int)Math.Min(request.ContentLength ?? 0, limitBytes), cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e) when (e is not ApiBodyTooLargeIOException && !cancellationToken.IsCancellationRequested)
        {
            throw new ApiException(ConnectCode.InvalidArgument, "error reading request body: " + e.Message, 408, e);
        }
        catch (ApiBodyTooLargeIOException)
        {
            throw ApiException.BodyTooLarge(limitBytes);
        }
        switch (encoding)
        {
            case null or "" or "identity":
                return raw;
            case "gzip":
                try
                {
                    using var gzip = new GZipStream(new MemoryStream(raw, writable: false), CompressionMode.Decompress);
                    return await ReadCappedAsync(gzip, limitBytes, raw.Length * 4, cancellationToken).ConfigureAwait(false);
                }
                catch (ApiBodyTooLargeIOException)
                {
                    throw new ApiException(ConnectCode.ResourceExhausted,
                        $"decompressed request body exceeds the limit of {limitBytes} bytes (ingestion_body_limit_mb)", 413);
                }
                catch (InvalidDataException e)
                {
                    throw ApiException.InvalidArgument("request body is not valid gzip (Content-Encoding: gzip): " + e.Message, e);
                }
            default:
                throw new ApiException(ConnectCode.Unimplemented, $"unsupported Content-Encoding \"{encoding}\" (supported: gzip, identity)", 415);
        }
    }

    /// <summary>Unary Connect uses Content-Encoding; Connect-Content-Encoding is accepted too for lenient clients.</summary>
    private static string? ContentEncoding(HttpRequest request)
    {
        var value = request.Headers.ContentEncoding.ToString();
        if (string.IsNullOrEmpty(value))
        {
            value = request.Headers["Connect-Content-Encoding"].ToString();
        }
        return string.IsNullOrEmpty(value) ? null : value.Trim().ToLowerInvariant();
    }

    private static async Task<byte[]> ReadCappedAsync(Stream source, long limitBytes, int sizeHint, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Clamp(sizeHint + 1, 4096, 1 << 20));
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                var read = await source.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return buffer.AsSpan(0, length).ToArray();
                }
                length += read;
                if (length > limitBytes)
                {
                    throw new ApiBodyTooLargeIOException();
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private sealed class ApiBodyTooLargeIOException : IOException;
}
