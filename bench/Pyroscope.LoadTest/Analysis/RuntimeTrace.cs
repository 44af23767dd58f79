using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing.EventPipe;
using Microsoft.Diagnostics.Tracing.Parsers;
using Pyroscope.Model;
using Pyroscope.Profiler;

namespace Pyroscope.LoadTest.Analysis;

/// <summary>
/// An EventPipe trace of a server process taken from outside (as <c>dotnet-trace</c> does): continuous thread
/// samples and GC AllocationTick events (one per ≈ 100 KB allocated, with its stack), converted by the
/// product's own <see cref="NetTraceConverter"/> into cpu / alloc_space / alloc_objects profiles.
/// </summary>
public static class RuntimeTrace
{
    public static async Task<IReadOnlyList<(ProfileTypeId Type, Contracts.Google.V1.Profile Profile)>> RecordAsync(int pid, TimeSpan duration, string file, CancellationToken cancellationToken)
    {
        var client = new DiagnosticsClient(pid);
        var keywords = ClrTraceEventParser.Keywords.GC | ClrTraceEventParser.Keywords.Jit | ClrTraceEventParser.Keywords.Loader;
        EventPipeProvider[] providers =
        [
            new(SampleProfilerTraceEventParser.ProviderName, EventLevel.Informational),
            new(ClrTraceEventParser.ProviderName, EventLevel.Verbose, (long)keywords),
        ];
        using (var session = client.StartEventPipeSession(providers, requestRundown: true, circularBufferMB: 512))
        {
            await using var output = File.Create(file);
            var copy = session.EventStream.CopyToAsync(output, cancellationToken);
            await Task.Delay(duration, cancellationToken);
            await session.StopAsync(cancellationToken);
            await copy;
        }
        var converted = NetTraceConverter.Convert(file, cancellationToken);
        // The profiler package has its own pprof and type classes (it depends on no server library).
        var result = new List<(ProfileTypeId Type, Contracts.Google.V1.Profile Profile)>(converted.Count);
        foreach (var (type, profile) in converted)
        {
            result.Add((new ProfileTypeId(type.Name, type.SampleType, type.SampleUnit, type.PeriodType, type.PeriodUnit),
                Contracts.Google.V1.Profile.Parser.ParseFrom(Google.Protobuf.MessageExtensions.ToByteArray(profile))));
        }
        return result;
    }
}
