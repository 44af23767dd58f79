using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.EventPipe;
using Microsoft.Diagnostics.Tracing.Parsers;

namespace Pyroscope.Profiler.Collection;

/// <summary>
/// One EventPipe session on the own process read in real time through TraceLog (whose initial
/// rundown names methods jitted before the session), with the collector summing its samples.
/// The live profiler runs one for the whole life (continuous) or one per upload window (duty-cycled).
/// </summary>
internal sealed class SamplingSlice : IDisposable
{
    private readonly EventPipeSession _session;
    private readonly TraceLogEventSource _source;
    private int _stopped;

    private SamplingSlice(EventPipeSession session, TraceLogEventSource source)
    {
        _session = session;
        _source = source;
        Collector = new EventPipeSampleCollector(source.TraceLog);
        Collector.Attach(source);
    }

    public EventPipeSampleCollector Collector { get; }

    public TraceLog TraceLog => _source.TraceLog;

    /// <summary>Starts the session; throws when the runtime refuses it (diagnostics disabled, …).</summary>
    public static SamplingSlice Start(ProfilerOptions options)
    {
        var client = new DiagnosticsClient(Environment.ProcessId);
        // The runtime buffers what the reader has not taken yet, up to this much native memory: on a loaded
        // machine, where the reader lags, that was most of the profiler's resident memory (up to 60 MB at
        // 64). A sampled second at 1 kHz is a few MB; events beyond the buffer are dropped, not queued.
        var session = client.StartEventPipeSession(Providers(options), requestRundown: false, circularBufferMB: 16);
        try
        {
            var source = TraceLog.CreateFromEventPipeSession(session, TraceLog.EventPipeRundownConfiguration.Enable(client));
            return new SamplingSlice(session, source);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    private static List<EventPipeProvider> Providers(ProfilerOptions options)
    {
        // Jit + Loader: MethodLoadVerbose/ModuleLoad name code jitted (or re-jitted by tiering) after
        // the start. GC at Verbose adds AllocationTick; Contention and Exception the lock and exception
        // events (each with the stack of the thread that waited or threw).
        var keywords = ClrTraceEventParser.Keywords.Jit | ClrTraceEventParser.Keywords.Loader;
        if (options.CollectAllocations)
        {
            keywords |= ClrTraceEventParser.Keywords.GC;
        }
        if (options.LockEnabled)
        {
            keywords |= ClrTraceEventParser.Keywords.Contention;
        }
        if (options.ExceptionEnabled)
        {
            keywords |= ClrTraceEventParser.Keywords.Exception;
        }
        var providers = new List<EventPipeProvider>(2)
        {
            new(ClrTraceEventParser.ProviderName, EventLevel.Verbose, (long)keywords),
        };
        if (options.CpuEnabled || options.WallEnabled)
        {
            providers.Add(new EventPipeProvider(SampleProfilerTraceEventParser.ProviderName, EventLevel.Informational));
        }
        return providers;
    }

    /// <summary>Dispatches events on the calling thread until the session is stopped.</summary>
    public void Process() => _source.Process();

    /// <summary>
    /// Ends the session (its event stream ends, <see cref="Process"/> returns); safe from any thread but
    /// the one about to call <see cref="Process"/>, more than once. True for the call that stopped it.
    /// </summary>
    public bool Stop()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return false;
        }
        try
        {
            _session.Stop();
        }
        catch (Exception)
        {
            // The session is gone already (process shutting down, stream broken): nothing left to
            // stop. Called from a timer too, where anything escaping would take the host down.
        }
        return true;
    }

    /// <summary>Last resort when the stream does not end after <see cref="Stop"/>.</summary>
    public void StopProcessing() => _source.StopProcessing();

    public void Dispose()
    {
        _source.Dispose();
        _session.Dispose();
    }
}
