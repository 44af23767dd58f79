using Pyroscope.Formats.Jfr;

namespace Pyroscope.Formats.Ingest;

/// <summary>
/// <c>format=jfr</c>: a JFR recording (async-profiler or JDK), raw or as a form with fields <c>jfr</c> and
/// optional <c>labels</c> (LabelsSnapshot protobuf), each possibly gzipped. Adds the <c>jfr_event</c> label as upstream.
/// </summary>
public sealed class JfrIngestFormat : IIngestFormat
{
    public const string JfrEventLabel = "jfr_event";

    public string Name => "jfr";

    public string? MultipartField => "jfr";

    public IReadOnlyList<IngestedProfile> Decode(IngestPayload payload)
    {
        var md = payload.Metadata;
        var recording = payload.Profile("jfr", MultipartField);
        payload.TryGetPart("labels", out var labels);
        JfrConversion conversion;
        try
        {
            conversion = JfrConverter.Convert(recording.Span, labels.Span, new JfrConvertOptions
            {
                StartTimeUnixNanos = md.FromNanos,
                EndTimeUnixNanos = md.UntilNanos,
                SampleRate = md.SampleRate,
            });
        }
        catch (JfrFormatException e)
        {
            throw new ProfileFormatException("jfr: " + e.Message, e);
        }
        var result = new List<IngestedProfile>(conversion.Count);
        foreach (var profile in conversion)
        {
            var extra = conversion.JfrEvent.Length > 0 ? profile.ExtraLabels.With(JfrEventLabel, conversion.JfrEvent) : profile.ExtraLabels;
            result.Add(new IngestedProfile(IngestLabels.Converted(md, profile.Type, extra), profile.Pprof, 0));
        }
        return result;
    }
}
