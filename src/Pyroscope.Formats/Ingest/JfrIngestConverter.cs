using Pyroscope.Formats.Jfr;
using Pyroscope.Model;

namespace Pyroscope.Formats.Ingest;

/// <summary><c>format=jfr</c>: the JFR converter behind the ingest hook, adding the <c>jfr_event</c> label as upstream.</summary>
public sealed class JfrIngestConverter : IExternalProfileConverter
{
    public const string JfrEventLabel = "jfr_event";

    public string Format => "jfr";

    public IReadOnlyList<ExternalProfile> Convert(ReadOnlyMemory<byte> body, ReadOnlyMemory<byte> labels, IngestMetadata metadata)
    {
        JfrConversion conversion;
        try
        {
            conversion = JfrConverter.Convert(body.Span, labels.Span, new JfrConvertOptions
            {
                StartTimeUnixNanos = metadata.FromNanos,
                EndTimeUnixNanos = metadata.UntilNanos,
                SampleRate = metadata.SampleRate,
            });
        }
        catch (JfrFormatException e)
        {
            throw new ProfileFormatException("jfr: " + e.Message, e);
        }
        var result = new List<ExternalProfile>(conversion.Count);
        foreach (var profile in conversion)
        {
            var extra = conversion.JfrEvent.Length > 0 ? profile.ExtraLabels.With(JfrEventLabel, conversion.JfrEvent) : profile.ExtraLabels;
            result.Add(new ExternalProfile(profile.Type, extra, profile.Pprof));
        }
        return result;
    }
}
