using Pyroscope.Contracts.Google.V1;
using Pyroscope.Model;

namespace Pyroscope.Formats.Ingest;

/// <summary>One profile produced by an external converter (JFR, nettrace): its type and extra series labels.</summary>
public sealed record ExternalProfile(ProfileTypeId Type, LabelSet ExtraLabels, Profile Profile);

/// <summary>
/// Hook for formats converted elsewhere (<c>format=jfr</c> from the JFR converter, <c>format=nettrace</c> from
/// the .NET profiler). Registered in DI by whoever owns the converter; the ingest decoder picks it by
/// <see cref="Format"/>. Throw <see cref="ProfileFormatException"/> for bad input.
/// </summary>
public interface IExternalProfileConverter
{
    /// <summary>The <c>format=</c> value handled, lower case (e.g. "jfr").</summary>
    string Format { get; }

    /// <param name="body">The profile bytes (gzip already removed).</param>
    /// <param name="labels">The optional side-car labels (JFR: LabelsSnapshot protobuf), empty when absent.</param>
    IReadOnlyList<ExternalProfile> Convert(ReadOnlyMemory<byte> body, ReadOnlyMemory<byte> labels, IngestMetadata metadata);
}
