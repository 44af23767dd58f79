using System.Text.Json;
using Pyroscope.Contracts.Google.V1;
using Pyroscope.Formats.Legacy;
using Pyroscope.Formats.Pprof;
using Pyroscope.Model;
using Label = Pyroscope.Model.Label;

namespace Pyroscope.Formats.Ingest;

/// <summary>A decoded body: pprof plus the series labels it goes with (before normalisation).</summary>
public sealed record IngestedProfile(IReadOnlyList<Label> Labels, Profile Profile, int DecompressedSize);

public sealed record IngestDecodeOptions
{
    /// <summary>Cap on any decompressed payload (gzip bomb guard).</summary>
    public long MaxDecompressedBytes { get; init; } = PprofDecoder.DefaultMaxDecompressedBytes;

    public IReadOnlyList<IExternalProfileConverter> ExternalConverters { get; init; } = [];
}

/// <summary>
/// The body of <c>POST /ingest</c> in every format upstream accepts, first match wins (as upstream's
/// ingest handler): trie → tree → lines → jfr → pprof → speedscope →
/// any multipart form (pprof form) → folded text.
/// </summary>
public static class IngestDecoder
{
    public const string TrieContentType = "binary/octet-stream+trie";
    public const string TreeContentType = "binary/octet-stream+tree";

    private static bool IsMediaType(string contentType, string mediaType)
    {
        var semicolon = contentType.IndexOf(';');
        var type = (semicolon < 0 ? contentType : contentType[..semicolon]).AsSpan().Trim();
        return type.Equals(mediaType, StringComparison.OrdinalIgnoreCase);
    }

    public static List<IngestedProfile> Decode(IngestMetadata md, string? contentType, ReadOnlyMemory<byte> body, IngestDecodeOptions options)
    {
        var ct = contentType ?? "";
        // Upstream's order: the trie check (format or content type) comes before the tree one.
        if (md.Format == "trie" || IsMediaType(ct, TrieContentType))
        {
            return Legacy(md, LegacyTreeParser.ParseTrie(Plain(body, options, "trie").Span, LegacyProfileType.FromAppName(md.Key.FullName), md.SampleRate, md.FromNanos, md.UntilNanos));
        }
        if (md.Format == "tree" || IsMediaType(ct, TreeContentType))
        {
            return Legacy(md, LegacyTreeParser.ParseTree(Plain(body, options, "tree").Span, LegacyProfileType.FromAppName(md.Key.FullName), md.SampleRate, md.FromNanos, md.UntilNanos));
        }
        switch (md.Format)
        {
            case "lines":
                return Legacy(md, FoldedParser.ParseLines(Plain(body, options, "lines").Span, LegacyProfileType.FromAppName(md.Key.FullName), md.SampleRate, md.FromNanos, md.UntilNanos));
            case "jfr" or "nettrace":
                return External(md, ct, body, options);
            case "pprof":
                return MultipartForm.IsMultipart(ct) ? PprofForm(md, ct, body, options) : [Pprof(md, body, null, options)];
            case "speedscope":
                var converted = SpeedscopeParser.Parse(Plain(body, options, "speedscope").Span, md.Key.FullName, md.FromNanos, md.UntilNanos);
                var result = new List<IngestedProfile>(converted.Count);
                foreach (var c in converted)
                {
                    result.Add(new IngestedProfile(LegacyLabels(md, c.Type), c.Profile, 0));
                }
                return result;
        }
        if (MultipartForm.IsMultipart(ct))
        {
            return PprofForm(md, ct, body, options);
        }
        if (md.Format is not ("" or "folded" or "collapsed"))
        {
            throw new ProfileFormatException($"unknown format \"{md.Format}\" (supported: pprof, jfr, nettrace, folded, lines, speedscope, trie, tree)");
        }
        return Legacy(md, FoldedParser.ParseFolded(Plain(body, options, "folded").Span, LegacyProfileType.FromAppName(md.Key.FullName), md.SampleRate, md.FromNanos, md.UntilNanos));
    }

    private static ReadOnlyMemory<byte> Plain(ReadOnlyMemory<byte> body, IngestDecodeOptions options, string what) =>
        BoundedGzip.MaybeDecompress(body, options.MaxDecompressedBytes, what);

    private static List<IngestedProfile> Legacy(IngestMetadata md, Profile profile)
    {
        var type = LegacyProfileType.FromAppName(md.Key.FullName);
        return [new IngestedProfile(LegacyLabels(md, type), profile, 0)];
    }

    /// <summary>Labels of legacy formats as upstream's adapter: __name__, __delta__, pyroscope_spy, service_name (or app_name).</summary>
    private static List<Label> LegacyLabels(IngestMetadata md, LegacyProfileType type)
    {
        var labels = new List<Label>(md.Key.Labels.Count + 5)
        {
            new(LabelNames.MetricName, type.MetricName),
            new(LabelNames.Delta, "false"),
        };
        if (md.SpyName.Length > 0)
        {
            labels.Add(new Label(LabelNames.Spy, md.SpyName));
        }
        if (!AddUserLabels(md, labels))
        {
            labels.Add(new Label(LabelNames.ServiceName, type.AppName));
        }
        else if (UserValue(md, LabelNames.AppName) is null)
        {
            labels.Add(new Label(LabelNames.AppName, type.AppName));
        }
        return labels;
    }

    private static string? UserValue(IngestMetadata md, string name)
    {
        foreach (var (k, v) in md.Key.Labels)
        {
            if (k == name)
            {
                return v;
            }
        }
        return null;
    }

    /// <summary>Adds the user's labels except reserved "__" ones; returns whether service_name was among them.</summary>
    private static bool AddUserLabels(IngestMetadata md, List<Label> labels)
    {
        var hasServiceName = false;
        foreach (var (name, value) in md.Key.Labels)
        {
            if (LabelNames.IsReserved(name))
            {
                continue;
            }
            hasServiceName |= name == LabelNames.ServiceName && value.Length > 0;
            labels.Add(new Label(name, value));
        }
        return hasServiceName;
    }

    private static List<IngestedProfile> PprofForm(IngestMetadata md, string contentType, ReadOnlyMemory<byte> body, IngestDecodeOptions options)
    {
        var parts = MultipartForm.Parse(body, contentType);
        if (parts.TryGetValue("prev_profile", out var previous) && !previous.IsEmpty)
        {
            throw new ProfileFormatException("unsupported client version: multipart field prev_profile (cumulative profiles) is not supported. Please update github.com/grafana/pyroscope-go to the latest version");
        }
        if (!parts.TryGetValue("profile", out var profile) || profile.IsEmpty)
        {
            return []; // upstream treats a form without a profile as an empty push
        }
        Dictionary<string, SampleTypeConfig>? config = null;
        if (parts.TryGetValue("sample_type_config", out var configBytes) && !configBytes.IsEmpty)
        {
            try
            {
                config = JsonSerializer.Deserialize<Dictionary<string, SampleTypeConfig>>(configBytes.Span);
            }
            catch (JsonException e)
            {
                throw new ProfileFormatException($"multipart field sample_type_config: invalid JSON: {e.Message}", e);
            }
        }
        return [Pprof(md, profile, config, options)];
    }

    private static IngestedProfile Pprof(IngestMetadata md, ReadOnlyMemory<byte> body, Dictionary<string, SampleTypeConfig>? config, IngestDecodeOptions options)
    {
        var profile = PprofDecoder.Decode(body, options.MaxDecompressedBytes, "pprof", out var size);
        SpyFixes.Apply(profile, md.SpyName, config);
        var labels = new List<Label>(md.Key.Labels.Count + 4)
        {
            new(LabelNames.MetricName, MetricName(profile, config)),
            new(LabelNames.Delta, "false"),
            new(LabelNames.ServiceName, md.Key.FullName),
            new(LabelNames.Spy, md.SpyName),
        };
        AddUserLabels(md, labels); // a user service_name overrides the app name (later wins)
        return new IngestedProfile(labels, profile, size);
    }

    /// <summary>Upstream's metric name for a pprof push: wall if any type is wall, else by the first recognisable type.</summary>
    public static string MetricName(Profile profile, IReadOnlyDictionary<string, SampleTypeConfig>? config)
    {
        var strings = profile.StringTable;
        foreach (var t in profile.SampleType)
        {
            if (strings[(int)t.Type] == "wall")
            {
                return "wall";
            }
        }
        var st = "";
        foreach (var t in profile.SampleType)
        {
            st = strings[(int)t.Type];
            if (config is not null && config.TryGetValue(st, out var c) && !string.IsNullOrEmpty(c.DisplayName))
            {
                st = c.DisplayName;
            }
            if (st.Contains("cpu", StringComparison.Ordinal))
            {
                return "process_cpu";
            }
            if (st.Contains("alloc_", StringComparison.Ordinal) || st.Contains("inuse_", StringComparison.Ordinal) || st is "space" or "objects")
            {
                return "memory";
            }
            if (st.Contains("mutex_", StringComparison.Ordinal))
            {
                return "mutex";
            }
            if (st.Contains("block_", StringComparison.Ordinal))
            {
                return "block";
            }
            if (st.Contains("goroutines", StringComparison.Ordinal))
            {
                return "goroutines";
            }
        }
        return st;
    }

    private static List<IngestedProfile> External(IngestMetadata md, string contentType, ReadOnlyMemory<byte> body, IngestDecodeOptions options)
    {
        IExternalProfileConverter? converter = null;
        foreach (var c in options.ExternalConverters)
        {
            if (string.Equals(c.Format, md.Format, StringComparison.OrdinalIgnoreCase))
            {
                converter = c;
            }
        }
        if (converter is null)
        {
            throw new ProfileFormatException($"{md.Format} not supported yet");
        }
        ReadOnlyMemory<byte> data = body, labels = default;
        if (MultipartForm.IsMultipart(contentType))
        {
            var parts = MultipartForm.Parse(body, contentType);
            if (!parts.TryGetValue(md.Format, out data) || data.IsEmpty)
            {
                throw new ProfileFormatException($"multipart body has no \"{md.Format}\" field");
            }
            parts.TryGetValue("labels", out labels);
        }
        data = BoundedGzip.MaybeDecompress(data, options.MaxDecompressedBytes, md.Format);
        labels = labels.IsEmpty ? labels : BoundedGzip.MaybeDecompress(labels, options.MaxDecompressedBytes, md.Format + " labels");
        var converted = converter.Convert(data, labels, md);
        var result = new List<IngestedProfile>(converted.Count);
        foreach (var p in converted)
        {
            var list = new List<Label>(md.Key.Labels.Count + p.ExtraLabels.Count + 4)
            {
                new(LabelNames.MetricName, p.Type.Name),
                new(LabelNames.Delta, "false"),
                new(LabelNames.ServiceName, AppOnly(md.Key.FullName)),
                new(LabelNames.Spy, md.SpyName),
            };
            AddUserLabels(md, list);
            foreach (var l in p.ExtraLabels.Labels)
            {
                list.Add(l);
            }
            result.Add(new IngestedProfile(list, p.Profile, 0));
        }
        return result;
    }

    // JFR agents send "app.cpu" style names too; the suffix is not part of the service name.
    private static string AppOnly(string fullName)
    {
        var dot = fullName.LastIndexOf('.');
        return dot < 0 ? fullName : fullName[..dot] is { Length: > 0 } app && IsLegacySuffix(fullName[(dot + 1)..]) ? app : fullName;
    }

    private static bool IsLegacySuffix(string suffix) => suffix is "cpu" or "itimer" or "wall" or "alloc_in_new_tlab_objects" or "alloc_in_new_tlab_bytes" or "lock_count" or "lock_duration";
}

/// <summary>One entry of the multipart <c>sample_type_config</c> JSON sent by the Go, Python, Ruby and .NET SDKs.</summary>
public sealed class SampleTypeConfig
{
    [System.Text.Json.Serialization.JsonPropertyName("units")]
    public string? Units { get; set; }

    [System.Text.Json.Serialization.JsonPropertyName("display-name")]
    public string? DisplayName { get; set; }

    [System.Text.Json.Serialization.JsonPropertyName("aggregation")]
    public string? Aggregation { get; set; }

    [System.Text.Json.Serialization.JsonPropertyName("cumulative")]
    public bool Cumulative { get; set; }

    [System.Text.Json.Serialization.JsonPropertyName("sampled")]
    public bool Sampled { get; set; }
}
