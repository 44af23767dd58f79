using Microsoft.Diagnostics.Tracing.Etlx;
using Pyroscope.Profiler.Collection;
using Pyroscope.Profiler.Pprof;

namespace Pyroscope.Profiler;

/// <summary>
/// Converts a <c>.nettrace</c> file (as written by <c>dotnet-trace collect</c>, e.g. with the
/// <c>dotnet-sampled-thread-time</c> profile) into pprof profiles: cpu and wall from
/// SampleProfiler thread samples (a file has no CPU clock readings: samples in managed code count as
/// cpu), alloc_samples/alloc_size from GC AllocationTick, lock and exception profiles from contention
/// and exception events when the trace has them. Profile types without samples are left out.
/// </summary>
public static class NetTraceConverter
{
    private static ReadOnlySpan<byte> Magic => "Nettrace"u8;

    /// <summary>Converts the trace read from <paramref name="nettrace"/>.</summary>
    /// <exception cref="InvalidDataException">The stream is not a readable .nettrace file.</exception>
    public static IReadOnlyList<(ProfileType Type, Profile Profile)> Convert(Stream nettrace, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(nettrace);
        // TraceEvent resolves stacks in two passes (rundown sits at the end of the file) and
        // only does that from a file: spill the stream to a private temp directory.
        var directory = Directory.CreateTempSubdirectory("pyroscope-nettrace-");
        try
        {
            var tracePath = Path.Combine(directory.FullName, "trace.nettrace");
            using (var file = File.Create(tracePath))
            {
                nettrace.CopyTo(file);
            }
            return ConvertFile(tracePath, Path.Combine(directory.FullName, "trace.etlx"), cancellationToken);
        }
        finally
        {
            TryDelete(directory);
        }
    }

    /// <summary>Converts a .nettrace file on disk.</summary>
    /// <exception cref="InvalidDataException">The file is not a readable .nettrace file.</exception>
    public static IReadOnlyList<(ProfileType Type, Profile Profile)> Convert(string nettracePath, CancellationToken cancellationToken = default)
    {
        var directory = Directory.CreateTempSubdirectory("pyroscope-nettrace-");
        try
        {
            return ConvertFile(nettracePath, Path.Combine(directory.FullName, "trace.etlx"), cancellationToken);
        }
        finally
        {
            TryDelete(directory);
        }
    }

    private static IReadOnlyList<(ProfileType, Profile)> ConvertFile(string tracePath, string etlxPath, CancellationToken cancellationToken)
    {
        CheckMagic(tracePath);
        cancellationToken.ThrowIfCancellationRequested();
        TraceLog traceLog;
        try
        {
            TraceLog.CreateFromEventPipeDataFile(tracePath, etlxPath, new TraceLogOptions { ConversionLog = TextWriter.Null, ContinueOnError = false });
            traceLog = new TraceLog(etlxPath);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new InvalidDataException($"The .nettrace data could not be read: {e.Message}", e);
        }
        using (traceLog)
        {
            var collector = new EventPipeSampleCollector(traceLog);
            using var source = traceLog.Events.GetSource();
            collector.Attach(source);
            if (cancellationToken.CanBeCanceled)
            {
                collector.AfterThreadSample = _ =>
                {
                    if (cancellationToken.IsCancellationRequested)
                    {
                        source.StopProcessing();
                    }
                };
            }
            try
            {
                source.Process();
            }
            catch (Exception e)
            {
                throw new InvalidDataException($"The .nettrace events could not be read: {e.Message}", e);
            }
            cancellationToken.ThrowIfCancellationRequested();
            var start = UnixNanos(traceLog.SessionStartTime);
            var end = UnixNanos(traceLog.SessionEndTime);
            return collector.Drain(start, Math.Max(start, end));
        }
    }

    private static void CheckMagic(string tracePath)
    {
        Span<byte> header = stackalloc byte[8];
        using var file = File.OpenRead(tracePath);
        var read = file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        if (read < header.Length || !header.SequenceEqual(Magic))
        {
            throw new InvalidDataException("Not a .nettrace file: it must start with the 'Nettrace' magic bytes.");
        }
    }

    internal static long UnixNanos(DateTime time) =>
        (time.ToUniversalTime() - DateTime.UnixEpoch).Ticks * 100;

    private static void TryDelete(DirectoryInfo directory)
    {
        try
        {
            directory.Delete(recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp directory must not turn a successful conversion into a failure.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
