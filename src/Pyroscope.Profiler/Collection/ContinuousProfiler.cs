using System.Diagnostics;
using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.EventPipe;
using Microsoft.Diagnostics.Tracing.Parsers;
using Microsoft.Extensions.Logging;
using Pyroscope.Profiler.Export;

namespace Pyroscope.Profiler.Collection;

/// <summary>
/// An EventPipe session on the own process, read in real time through TraceLog (whose initial
/// rundown names methods jitted before the session), cut into windows of
/// <see cref="ProfilerOptions.UploadInterval"/> on the event thread and handed to the upload queue.
/// </summary>
internal sealed class ContinuousProfiler : IAsyncDisposable
{
    // TraceLog interns every distinct stack for the life of the session; past this many it is
    // trimmed right after a window was drained (nothing references the old indexes then).
    private const int MaxInternedCallStacks = 200_000;
    private const int MaxTrackedThreads = 4096;
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);

    private readonly ProfilerOptions _options;
    private readonly ILogger _logger;
    private readonly UploadQueue _queue;
    private readonly EventPipeSession _session;
    private readonly TraceLogEventSource _source;
    private readonly EventPipeSampleCollector _collector;
    private readonly Task _processing;
    private readonly long _intervalTicks;
    private long _nextCut;
    private DateTimeOffset _windowStart;
    private int _disposed;

    private ContinuousProfiler(ProfilerOptions options, UploadQueue queue, ILogger logger, EventPipeSession session, TraceLogEventSource source)
    {
        _options = options;
        _logger = logger;
        _queue = queue;
        _session = session;
        _source = source;
        _collector = new EventPipeSampleCollector(source.TraceLog) { AfterThreadSample = OnThreadSample };
        _collector.Attach(source);
        _intervalTicks = (long)(options.UploadInterval.TotalSeconds * Stopwatch.Frequency);
        _windowStart = DateTimeOffset.UtcNow;
        _nextCut = Stopwatch.GetTimestamp() + _intervalTicks;
        _processing = Task.Factory.StartNew(Process, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    public long ThreadSampleCount => _collector.ThreadSampleCount;

    public static ContinuousProfiler Start(ProfilerOptions options, UploadQueue queue, ILogger logger)
    {
        var client = new DiagnosticsClient(Environment.ProcessId);
        var session = client.StartEventPipeSession(Providers(options), requestRundown: false, circularBufferMB: 64);
        try
        {
            var source = TraceLog.CreateFromEventPipeSession(session, TraceLog.EventPipeRundownConfiguration.Enable(client));
            return new ContinuousProfiler(options, queue, logger, session, source);
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
        // the start; GC at Verbose adds AllocationTick.
        var keywords = ClrTraceEventParser.Keywords.Jit | ClrTraceEventParser.Keywords.Loader;
        if (options.CollectAllocations)
        {
            keywords |= ClrTraceEventParser.Keywords.GC;
        }
        return
        [
            new EventPipeProvider(SampleProfilerTraceEventParser.ProviderName, EventLevel.Informational),
            new EventPipeProvider(ClrTraceEventParser.ProviderName, EventLevel.Verbose, (long)keywords),
        ];
    }

    private void Process()
    {
        try
        {
            _source.Process();
        }
        catch (Exception e) when (Volatile.Read(ref _disposed) == 0)
        {
            _logger.LogError(e, "Pyroscope profiler stopped reading its EventPipe session.");
        }
        catch (Exception)
        {
            // The session is being torn down: a broken stream is expected.
        }
        Cut();
    }

    private void OnThreadSample(TraceEvent data)
    {
        if (Stopwatch.GetTimestamp() >= _nextCut)
        {
            Cut();
        }
    }

    private void Cut()
    {
        var now = DateTimeOffset.UtcNow;
        _nextCut = Stopwatch.GetTimestamp() + _intervalTicks;
        try
        {
            var profiles = _collector.Drain(NetTraceConverter.UnixNanos(_windowStart.UtcDateTime), NetTraceConverter.UnixNanos(now.UtcDateTime));
            if (profiles.Count > 0)
            {
                _queue.Enqueue(new ProfileBatch(_windowStart, now, profiles));
            }
            if (_source.TraceLog.CallStacks.Count > MaxInternedCallStacks)
            {
                _source.TraceLog.TrimLiveSessionState();
            }
            _collector.ForgetThreadsBeyond(MaxTrackedThreads);
        }
        catch (Exception e)
        {
            _logger.LogError(e, "Pyroscope profiler could not build the profiles of {From:o}..{Until:o}.", _windowStart, now);
        }
        _windowStart = now;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        try
        {
            await _session.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _logger.LogDebug(e, "Stopping the profiler's EventPipe session failed.");
        }
        if (await Task.WhenAny(_processing, Task.Delay(StopGrace)).ConfigureAwait(false) != _processing)
        {
            _source.StopProcessing();
        }
        await _queue.StopAsync(StopGrace).ConfigureAwait(false);
        _source.Dispose();
        _session.Dispose();
    }
}
