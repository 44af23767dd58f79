using Pyroscope.Model.Ingest;
using System.Text.Json;
using System.Text.Json.Serialization;
using Pyroscope.Formats.Pprof;

namespace Pyroscope.Formats.Ingest;

/// <summary>
/// <c>format=pprof</c> and any multipart form without <c>format=</c>: raw or gzipped pprof, or the form the
/// Go, Python, Ruby and .NET SDKs send (<c>profile</c>, optional <c>sample_type_config</c>).
/// </summary>
public sealed class PprofIngestFormat : IIngestFormat
{
    public const string FormatName = "pprof";

    public string Name => FormatName;

    public string? MultipartField => "profile";

    public IReadOnlyList<IngestedProfile> Decode(IngestPayload payload)
    {
        if (!payload.IsMultipart)
        {
            return [Decode(payload, payload.Body, null)];
        }
        var parts = payload.Parts;
        if (parts.TryGetValue("prev_profile", out var previous) && !previous.IsEmpty)
        {
            throw new ProfileFormatException("unsupported client version: multipart field prev_profile (cumulative profiles) is not supported. Please update github.com/grafana/pyroscope-go to the latest version");
        }
        if (!parts.TryGetValue("profile", out var profile) || profile.IsEmpty)
        {
            return []; // upstream treats a form without a profile as an empty push
        }
        Dictionary<string, SampleTypeConfig>? config = null;
        if (payload.TryGetPart("sample_type_config", out var configBytes))
        {
            config = ParseConfig(configBytes.Span);
        }
        return [Decode(payload, profile, config)];
    }

    private static IngestedProfile Decode(IngestPayload payload, ReadOnlyMemory<byte> body, Dictionary<string, SampleTypeConfig>? config)
    {
        var md = payload.Metadata;
        // Read from the received bytes (not the payload's gunzip, released when decoding ends): the WAL keeps those.
        var profile = PprofReader.Read(body, payload.MaxPayloadBytes, FormatName, out var size);
        var fixups = SpyFixes.For(md.SpyName, config);
        SpyFixes.Apply(profile, fixups);
        return new IngestedProfile(IngestLabels.Pprof(md, MetricName(profile, config)), body, profile, size, fixups);
    }

    private static Dictionary<string, SampleTypeConfig> ParseConfig(ReadOnlySpan<byte> json)
    {
        Dictionary<string, SampleTypeConfig?>? config;
        try
        {
            config = JsonSerializer.Deserialize<Dictionary<string, SampleTypeConfig?>>(json);
        }
        catch (JsonException e)
        {
            throw new ProfileFormatException($"multipart field sample_type_config: invalid JSON: {e.Message}", e);
        }
        var result = new Dictionary<string, SampleTypeConfig>(config?.Count ?? 0, StringComparer.Ordinal);
        foreach (var (name, entry) in config ?? [])
        {
            result[name] = entry ?? throw new ProfileFormatException($"multipart field sample_type_config: entry \"{name}\" is null (expected an object such as {{\"units\":\"bytes\"}})");
        }
        return result;
    }

    /// <summary>Upstream's metric name for a pprof push: wall if any type is wall, else by the first recognisable type.</summary>
    public static string MetricName(PprofProfile profile, IReadOnlyDictionary<string, SampleTypeConfig>? config)
    {
        foreach (var t in profile.SampleTypes.Span)
        {
            if (profile.Strings.GetOrEmpty(t.Type) == "wall")
            {
                return "wall";
            }
        }
        var st = "";
        foreach (var t in profile.SampleTypes.Span)
        {
            st = profile.Strings.GetOrEmpty(t.Type);
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
}

/// <summary>One entry of the multipart <c>sample_type_config</c> JSON sent by the Go, Python, Ruby and .NET SDKs.</summary>
public sealed class SampleTypeConfig
{
    [JsonPropertyName("units")]
    public string? Units { get; set; }

    [JsonPropertyName("display-name")]
    public string? DisplayName { get; set; }

    [JsonPropertyName("aggregation")]
    public string? Aggregation { get; set; }

    [JsonPropertyName("cumulative")]
    public bool Cumulative { get; set; }

    [JsonPropertyName("sampled")]
    public bool Sampled { get; set; }
}
