namespace Pyroscope.Formats.Ingest;

/// <summary>
/// Every <c>/ingest</c> body format, and which one a request is in. First match wins, in upstream's order:
/// <list type="number">
/// <item>a format with media types (trie, then tree) when <c>format=</c> names it or the content type is one of them;</item>
/// <item>the format <c>format=</c> names (or an alias of it);</item>
/// <item>a multipart form without <c>format=</c>: the format whose field the form carries (pprof first);</item>
/// <item>otherwise folded text.</item>
/// </list>
/// An unknown <c>format=</c> is refused, naming the supported ones.
/// </summary>
public sealed class IngestFormatRegistry
{
    /// <summary>The formats this library implements, in resolution order.</summary>
    public static IReadOnlyList<IIngestFormat> BuiltInFormats { get; } =
    [
        new PprofIngestFormat(),
        new JfrIngestFormat(),
        new TrieIngestFormat(),
        new TreeIngestFormat(),
        new LinesIngestFormat(),
        new SpeedscopeIngestFormat(),
        new FoldedIngestFormat(),
    ];

    /// <summary>The built-in formats only (no nettrace, which lives with the .NET profiler's converter).</summary>
    public static IngestFormatRegistry BuiltIn { get; } = new([]);

    private readonly List<IIngestFormat> _formats;
    private readonly Dictionary<string, IIngestFormat> _byName = new(StringComparer.Ordinal);
    private readonly IIngestFormat _default;
    private readonly string _supported;

    /// <param name="additional">Formats implemented elsewhere (e.g. nettrace); a name already taken is refused.</param>
    public IngestFormatRegistry(IEnumerable<IIngestFormat> additional)
    {
        _formats = [.. BuiltInFormats];
        foreach (var format in additional)
        {
            if (!_formats.Contains(format))
            {
                _formats.Add(format);
            }
        }
        foreach (var format in _formats)
        {
            Add(format.Name, format);
            foreach (var alias in format.Aliases)
            {
                Add(alias, format);
            }
        }
        _default = _byName[FoldedIngestFormat.FormatName];
        var names = new List<string>(_formats.Count);
        foreach (var format in _formats)
        {
            names.Add(format.Name);
        }
        _supported = string.Join(", ", names);
    }

    public IReadOnlyList<IIngestFormat> Formats => _formats;

    /// <summary>Decodes a body; the payload's decompressed buffers are released before this returns.</summary>
    public IReadOnlyList<IngestedProfile> Decode(IngestMetadata metadata, string? contentType, ReadOnlyMemory<byte> body, long maxPayloadBytes = Pprof.PprofDecoder.DefaultMaxDecompressedBytes)
    {
        using var payload = new IngestPayload(metadata, contentType, body, maxPayloadBytes);
        return Resolve(payload).Decode(payload);
    }

    /// <summary>The format a request is in (see the class summary for the order).</summary>
    public IIngestFormat Resolve(IngestPayload payload)
    {
        var format = payload.Metadata.Format;
        foreach (var candidate in _formats)
        {
            if (candidate.MediaTypes.Count > 0 && (candidate.Name == format || HasMediaType(candidate, payload.ContentType)))
            {
                return candidate;
            }
        }
        if (format.Length > 0)
        {
            return _byName.TryGetValue(format, out var named)
                ? named
                : throw new ProfileFormatException($"unknown format \"{format}\" (supported: {_supported})");
        }
        if (payload.IsMultipart)
        {
            foreach (var candidate in _formats)
            {
                if (candidate.MultipartField is { } field && payload.Parts.ContainsKey(field))
                {
                    return candidate;
                }
            }
            // Upstream reads any form as a pprof form (an empty one is an empty push).
            return _byName[PprofIngestFormat.FormatName];
        }
        return _default;
    }

    private void Add(string name, IIngestFormat format)
    {
        if (!_byName.TryAdd(name, format))
        {
            throw new ArgumentException($"ingest format \"{name}\" is registered twice ({_byName[name].GetType().Name} and {format.GetType().Name})");
        }
    }

    private static bool HasMediaType(IIngestFormat format, string contentType)
    {
        var semicolon = contentType.IndexOf(';');
        var type = (semicolon < 0 ? contentType : contentType[..semicolon]).AsSpan().Trim();
        foreach (var mediaType in format.MediaTypes)
        {
            if (type.Equals(mediaType, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }
}
