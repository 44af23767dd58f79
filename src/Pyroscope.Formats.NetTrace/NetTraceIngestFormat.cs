using System.Runtime.InteropServices;
using Pyroscope.Formats.Ingest;
using Pyroscope.Model;
using Pyroscope.Profiler;

namespace Pyroscope.Formats.NetTrace;

/// <summary>
/// <c>format=nettrace</c>: a .nettrace file (dotnet-trace / EventPipe), raw or as the form field
/// <c>nettrace</c>, possibly gzipped, converted by the .NET profiler's converter.
/// </summary>
public sealed class NetTraceIngestFormat : IIngestFormat
{
    public string Name => "nettrace";

    public string? MultipartField => "nettrace";

    public IReadOnlyList<IngestedProfile> Decode(IngestPayload payload)
    {
        var md = payload.Metadata;
        var trace = payload.Profile(Name, MultipartField);
        IReadOnlyList<(ProfileType Type, Profiler.Pprof.Profile Profile)> converted;
        try
        {
            using var stream = MemoryMarshal.TryGetArray(trace, out var segment)
                ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
                : new MemoryStream(trace.ToArray(), writable: false);
            converted = NetTraceConverter.Convert(stream);
        }
        catch (Exception e) when (e is not OutOfMemoryException and not OperationCanceledException)
        {
            // Untrusted input: whatever the trace reader trips over is a malformed upload, not a server fault.
            throw new ProfileFormatException("nettrace: " + e.Message, e);
        }
        var result = new List<IngestedProfile>(converted.Count);
        foreach (var (convertedType, convertedProfile) in converted)
        {
            // The profiler package carries its own pprof and type classes (it depends on no server library).
            var type = new ProfileTypeId(convertedType.Name, convertedType.SampleType, convertedType.SampleUnit, convertedType.PeriodType, convertedType.PeriodUnit);
            var profile = Contracts.Google.V1.Profile.Parser.ParseFrom(Google.Protobuf.MessageExtensions.ToByteArray(convertedProfile));
            if (profile.TimeNanos == 0)
            {
                profile.TimeNanos = md.FromNanos;
            }
            result.Add(new IngestedProfile(IngestLabels.Converted(md, type, LabelSet.Empty), profile, 0));
        }
        return result;
    }
}
