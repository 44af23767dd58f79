using Pyroscope.Formats;
using Pyroscope.Formats.Ingest;
using Pyroscope.Model;
using Pyroscope.Profiler;

namespace Pyroscope.Distributor.Ingest;

/// <summary><c>format=nettrace</c>: a .nettrace (dotnet-trace / EventPipe) converted by the .NET profiler's converter.</summary>
public sealed class NetTraceIngestConverter : IExternalProfileConverter
{
    public string Format => "nettrace";

    public IReadOnlyList<ExternalProfile> Convert(ReadOnlyMemory<byte> body, ReadOnlyMemory<byte> labels, IngestMetadata metadata)
    {
        IReadOnlyList<(ProfileType Type, Profiler.Pprof.Profile Profile)> converted;
        try
        {
            using var stream = new MemoryStream(body.ToArray(), writable: false);
            converted = NetTraceConverter.Convert(stream);
        }
        catch (Exception e) when (e is not OutOfMemoryException and not OperationCanceledException)
        {
            // Untrusted input: whatever the trace reader trips over is a malformed upload, not a server fault.
            throw new ProfileFormatException("nettrace: " + e.Message, e);
        }
        var result = new List<ExternalProfile>(converted.Count);
        foreach (var (convertedType, convertedProfile) in converted)
        {
            // The profiler package carries its own pprof and type classes (it depends on no server library).
            var type = new ProfileTypeId(convertedType.Name, convertedType.SampleType, convertedType.SampleUnit, convertedType.PeriodType, convertedType.PeriodUnit);
            var profile = Contracts.Google.V1.Profile.Parser.ParseFrom(Google.Protobuf.MessageExtensions.ToByteArray(convertedProfile));
            if (profile.TimeNanos == 0)
            {
                profile.TimeNanos = metadata.FromNanos;
            }
            result.Add(new ExternalProfile(type, LabelSet.Empty, profile));
        }
        return result;
    }
}
