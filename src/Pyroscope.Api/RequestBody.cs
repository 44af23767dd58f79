using System.IO.Compression;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Pyroscope.Model.Buffers;

namespace Pyroscope.Api;

/// <summary>
/// A request body read with a hard size limit into pooled memory, and its <c>Content-Encoding: gzip</c>
/// undone on demand within a second limit, streamed, so a compression bomb costs at most that limit (and
/// nothing when the decoded bytes are parsed as they stream). Dispose to give the memory back.
/// </summary>
public sealed class RequestBody : IDisposable
{
    private readonly PooledBytes _raw;
    private readonly bool _gzip;
    private readonly long _rawLimit;
    private readonly string _limitName;
    private PooledBytes? _decoded;

    private RequestBody(PooledBytes raw, bool gzip, long rawLimit, string limitName)
    {
        _raw = raw;
        _gzip = gzip;
        _rawLimit = rawLimit;
        _limitName = limitName;
    }

    /// <summary>Bytes as received (before any Content-Encoding is undone).</summary>
    public int RawLength => _raw.Length;

    /// <summary>
    /// Reads the whole body. Over <paramref name="limitBytes"/> → 413, also when Kestrel's own cap trips on a
    /// chunked body; an unsupported Content-Encoding → 415 before anything is read; a client that stops
    /// sending → 408, as upstream's ingest handler answers.
    /// </summary>
    public static async Task<RequestBody> ReadAsync(HttpRequest request, long limitBytes, string limitName, CancellationToken cancellationToken)
    {
        var gzip = ContentEncoding(request) switch
        {
            null or "" or "identity" => false,
            "gzip" => true,
            var other => throw new ApiException(ConnectCode.Unimplemented, $"unsupported Content-Encoding \"{other}\" (supported: gzip, identity)", 415),
        };
        if (request.ContentLength is { } declared && declared > limitBytes)
        {
            throw ApiException.BodyTooLarge(limitBytes, limitName);
        }
        // Kestrel's own cap (30 MB by default) would otherwise cut tenants with a larger limit short.
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = limitBytes == long.MaxValue ? null : limitBytes + 1;
        }
        try
        {
            var raw = await PooledBytes.ReadAsync(request.Body, limitBytes, (int)Math.Min(request.ContentLength ?? 0, int.MaxValue), cancellationToken).ConfigureAwait(false);
            return new RequestBody(raw, gzip, limitBytes, limitName);
        }
        catch (PooledBytes.LimitExceededException)
        {
            throw ApiException.BodyTooLarge(limitBytes, limitName);
        }
        catch (BadHttpRequestException e)
        {
            // Kestrel's limits: the body size cap (413) and the minimum data rate (408).
            throw e.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? ApiException.BodyTooLarge(limitBytes, limitName)
                : new ApiException(ConnectCode.InvalidArgument, "error reading request body: " + e.Message, e.StatusCode, e);
        }
        catch (IOException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ApiException(ConnectCode.InvalidArgument, "error reading request body: " + e.Message, 408, e);
        }
    }

    /// <summary>
    /// The decoded body as a stream: reading past <paramref name="limitBytes"/> decoded bytes, or broken gzip,
    /// throws <see cref="ApiException"/> (413 / 400) from <c>Read</c>.
    /// </summary>
    public DecodedBodyStream OpenDecoded(long limitBytes, string? limitName = null)
    {
        Stream inner = new MemoryStream(_raw.Array, 0, _raw.Length, writable: false);
        if (_gzip)
        {
            inner = new GZipStream(inner, CompressionMode.Decompress);
        }
        return new DecodedBodyStream(inner, _gzip ? limitBytes : Math.Min(limitBytes, _rawLimit), _gzip, limitName ?? _limitName);
    }

    /// <summary>
    /// The whole decoded body, within <paramref name="limitBytes"/>: the received bytes themselves when not
    /// compressed, else decompressed into pooled memory released with this body.
    /// </summary>
    public ReadOnlyMemory<byte> Decoded(long limitBytes, string? limitName = null)
    {
        if (!_gzip)
        {
            return _raw.Length <= limitBytes ? _raw.Memory : throw ApiException.BodyTooLarge(limitBytes, limitName ?? _limitName);
        }
        if (_decoded is null)
        {
            using var stream = OpenDecoded(limitBytes, limitName);
            _decoded = PooledBytes.Read(stream, long.MaxValue, (int)Math.Min(_raw.Length * 4L, int.MaxValue));
        }
        return _decoded.Memory;
    }

    public void Dispose()
    {
        _raw.Dispose();
        _decoded?.Dispose();
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
}

/// <summary>A read-only view of a decoded request body that counts what it hands out and stops at a limit.</summary>
public sealed class DecodedBodyStream(Stream inner, long limitBytes, bool compressed, string limitName) : Stream
{
    /// <summary>Decoded bytes read so far.</summary>
    public long BytesRead { get; private set; }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> destination)
    {
        int read;
        try
        {
            read = inner.Read(destination);
        }
        catch (InvalidDataException e)
        {
            throw ApiException.InvalidArgument("request body is not valid gzip (Content-Encoding: gzip): " + e.Message, e);
        }
        BytesRead += read;
        if (BytesRead > limitBytes)
        {
            throw compressed
                ? new ApiException(ConnectCode.ResourceExhausted, $"decompressed request body exceeds the limit of {limitBytes} bytes ({limitName})", 413)
                : ApiException.BodyTooLarge(limitBytes, limitName);
        }
        return read;
    }

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }
        base.Dispose(disposing);
    }
}
