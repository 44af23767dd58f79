using Pyroscope.Formats.Pprof;
using Pyroscope.Model;
using Pyroscope.Model.Buffers;
using Label = Pyroscope.Model.Label;

namespace Pyroscope.Formats.Ingest;

/// <summary>
/// One <c>/ingest</c> request as a format sees it: metadata, content type, body, and the cap every payload
/// obeys after decompression (max_profile_size_bytes). Decompressed buffers are pooled and released when
/// the registry disposes the payload, after the format has decoded it.
/// </summary>
public sealed class IngestPayload : IDisposable
{
    private readonly List<PooledBytes> _buffers = [];
    private Dictionary<string, ReadOnlyMemory<byte>>? _parts;

    public IngestPayload(IngestMetadata metadata, string? contentType, ReadOnlyMemory<byte> body, long maxPayloadBytes)
    {
        Metadata = metadata;
        ContentType = contentType ?? "";
        Body = body;
        MaxPayloadBytes = maxPayloadBytes;
    }

    public IngestMetadata Metadata { get; }

    public string ContentType { get; }

    /// <summary>The whole request body (a multipart form included), after any Content-Encoding.</summary>
    public ReadOnlyMemory<byte> Body { get; }

    public long MaxPayloadBytes { get; }

    public bool IsMultipart => MultipartForm.IsMultipart(ContentType);

    /// <summary>The multipart form's fields by name (parsed once); empty when the body is not a form.</summary>
    public IReadOnlyDictionary<string, ReadOnlyMemory<byte>> Parts =>
        _parts ??= IsMultipart ? MultipartForm.Parse(Body, ContentType) : new Dictionary<string, ReadOnlyMemory<byte>>();

    /// <summary>The field's bytes, gunzipped within the cap; false when the form has no such (non-empty) field.</summary>
    public bool TryGetPart(string field, out ReadOnlyMemory<byte> plain)
    {
        if (!Parts.TryGetValue(field, out var raw) || raw.IsEmpty)
        {
            plain = default;
            return false;
        }
        plain = Plain(raw, Metadata.Format.Length > 0 ? $"{Metadata.Format} field {field}" : field);
        return true;
    }

    /// <summary>
    /// The profile bytes: the form field <paramref name="multipartField"/> when the body is a form, else the
    /// whole body; gunzipped within the cap, and refused when over it either way.
    /// </summary>
    public ReadOnlyMemory<byte> Profile(string what, string? multipartField = null)
    {
        if (multipartField is not null && IsMultipart)
        {
            return TryGetPart(multipartField, out var part)
                ? part
                : throw new ProfileFormatException($"{what}: multipart body has no \"{multipartField}\" field");
        }
        return Plain(Body, what);
    }

    /// <summary><paramref name="bytes"/> gunzipped when gzip, within <see cref="MaxPayloadBytes"/> either way.</summary>
    public ReadOnlyMemory<byte> Plain(ReadOnlyMemory<byte> bytes, string what)
    {
        var plain = BoundedGzip.MaybeDecompress(bytes, MaxPayloadBytes, what, out var owner);
        if (owner is not null)
        {
            _buffers.Add(owner);
        }
        return plain;
    }

    public void Dispose()
    {
        foreach (var buffer in _buffers)
        {
            buffer.Dispose();
        }
        _buffers.Clear();
    }
}
