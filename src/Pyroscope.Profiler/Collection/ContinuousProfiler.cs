using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Pyroscope.Profiler.Export;
using Pyroscope.Profiler.Spans;

namespace Pyroscope.Profiler.Collection;

/// <summary>
/// Samples the own process through EventPipe and hands one batch of profiles per
/// <see cref="ProfilerOptions.UploadInterval"/> to the upload queue. Duty-cycled by default: each
/// window runs its own session for <see cref="ProfilerOptions.SampledDurationPerInterval"/> at a
/// random offset and scales its values to the window's length; when that duration covers the whole
/// window one session runs for the profiler's life and is cut into windows on the event thread.
/// While a session samples, <see cref="ThreadCpuPoller"/> reads the threads' CPU clocks and
/// <see cref="ActivitySpanTracker"/> queues span switches, both read by the session's collector.
/// </summary>
internal sealed class ContinuousProfiler : IAsyncDisposable
{
    // TraceLog interns every distinct stack for the life of the session; past this many it is
    // trimmed right after a window was drained (nothing references the old indexes then).
    private const int MaxInternedCallStacks = 200_000;
    private const int MaxTrackedThreads = 4096;
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);

    private readonly ProfilerOptions _options;
    private readonly ProfileTypeSelection _types;
    private readonly ILogger _logger;
    private readonly LogThrottle _throttle = new(TimeProvider.System, TimeSpan.FromMinutes(1));
    private readonly UploadQueue _queue;
    private readonly ThreadCpuPoller? _poller;
    private readonly ActivitySpanTracker? _spans;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _processing;
    private readonly long _intervalTicks;
    private SamplingSlice? _current;
    private long _nextCut;
    private DateTimeOffset _windowStart;
    private long _windowStartTicks;
    private int _disposed;

    private ContinuousProfiler(ProfilerOptions options, UploadQueue queue, ILogger logger)
    {
        _options = options;
        _types = ProfileTypeSelection.Of(options);
        _logger = logger;
        _queue = queue;
        _poller = options.CpuEnabled && OsThreads.IsSupported ? new ThreadCpuPoller() : null;
        _spans = options.SpanProfiles && (options.CpuEnabled || options.WallEnabled) ? new ActivitySpanTracker() : null;
        // The first window starts before its session does: the session samples from the moment it is
        // created, through the rundown that names the methods jitted before it (seconds on a loaded
        // machine). A window starting after that had samples from before its own start, and its
        // window / sampled-span scale (then below 1) was clamped to 1: the 1.6–2.4× overshoot.
        _windowStart = _poller?.WindowOpenedAt ?? DateTimeOffset.UtcNow;
        _windowStartTicks = Stopwatch.GetTimestamp();
        SamplingSlice first;
        try
        {
            first = StartSlice();
        }
        catch
        {
            _poller?.Dispose();
            _spans?.Dispose();
            throw;
        }
        _current = first;
        _intervalTicks = (long)(options.UploadInterval.TotalSeconds * Stopwatch.Frequency);
        // Continuous: the first cut comes an interval after the session started (its rundown can take longer
        // than an interval on a loaded machine; a first window without a sample would have no stacks).
        _nextCut = Stopwatch.GetTimestamp() + _intervalTicks;
        var continuous = options.SampledDurationPerInterval >= options.UploadInterval;
        _processing = Task.Factory.StartNew(continuous ? () => RunContinuously(first) : () => RunDutyCycled(first),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Starts sampling at once, so a runtime that refuses the session throws here.</summary>
    public static ContinuousProfiler Start(ProfilerOptions options, UploadQueue queue, ILogger logger) => new(options, queue, logger);

    private SamplingSlice StartSlice()
    {
        // Readings and span switches start before the session, so its first samples have a baseline.
        _spans?.SetRecording(true);
        _poller?.Start();
        try
        {
            var slice = SamplingSlice.Start(_options);
            if (_poller is not null)
            {
                slice.Collector.ThreadTime.UseCpuReadings(_poller.Readings);
            }
            if (_spans is not null)
            {
                slice.Collector.UseSpans(_spans);
            }
            return slice;
        }
        catch
        {
            EndReadings();
            throw;
        }
    }

    /// <summary>Stops the session, then takes the closing CPU readings (no sample comes after a stopped session).</summary>
    private void StopSlice(SamplingSlice slice)
    {
        // A late timer callback for a slice that is already stopped must not stop the next slice's readings.
        if (slice.Stop())
        {
            _poller?.Stop();
        }
    }

    private void EndReadings()
    {
        _poller?.Stop();
        _spans?.SetRecording(false);
    }

    private void RunContinuously(SamplingSlice slice)
    {
        slice.Collector.AfterThreadSample = _ =>
        {
            if (Stopwatch.GetTimestamp() >= _nextCut)
            {
                Cut(slice, scale: 1, sessionEnded: false);
            }
        };
        ProcessUntilStopped(slice);
        EndReadings();
        Cut(slice, scale: 1, sessionEnded: true);
        slice.Dispose();
    }

    private void RunDutyCycled(SamplingSlice? slice)
    {
        var sampled = _options.SampledDurationPerInterval;
        var idle = _options.UploadInterval - sampled;
        var token = _stopping.Token;
        // What the last session took beyond its sampled time (starting it, its rundown, stopping and draining
        // it): seconds on a loaded machine, where a session started late in its window ran past the window's
        // end and made it that much longer. The random offset leaves room for it.
        var overhead = TimeSpan.Zero;
        while (true)
        {
            if (slice is null)
            {
                // A random offset: work that recurs with the window's period is not always missed.
                var room = idle > overhead ? idle - overhead : TimeSpan.Zero;
                if (token.WaitHandle.WaitOne(TimeSpan.FromTicks(Random.Shared.NextInt64(room.Ticks + 1))))
                {
                    break;
                }
                var starting = Stopwatch.GetTimestamp();
                slice = TryStartSlice();
                if (slice is not null)
                {
                    SampleUntilStopped(slice, token.IsCancellationRequested ? TimeSpan.Zero : sampled);
                    var beyond = Stopwatch.GetElapsedTime(starting) - sampled;
                    overhead = beyond < TimeSpan.Zero ? TimeSpan.Zero : beyond;
                }
            }
            else
            {
                SampleUntilStopped(slice, token.IsCancellationRequested ? TimeSpan.Zero : sampled);
            }
            var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), _windowStartTicks + _intervalTicks);
            var stopped = token.WaitHandle.WaitOne(left > TimeSpan.Zero ? left : TimeSpan.Zero);
            if (slice is not null)
            {
                var span = slice.Collector.SampledSpan;
                var window = DateTimeOffset.UtcNow - _windowStart;
                // Samples never precede the window (each session starts inside it), so window / span is
                // at least 1 up to timer noise; it is not clamped, which once hid samples from outside the window.
                Cut(slice, span > TimeSpan.Zero ? window / span : 1, sessionEnded: true);
                Volatile.Write(ref _current, null);
                slice.Dispose();
                slice = null;
            }
            else
            {
                // No session, no profile: the next window starts now.
                _windowStart = _poller?.CloseWindow().EndedAt ?? DateTimeOffset.UtcNow;
                _windowStartTicks = Stopwatch.GetTimestamp();
            }
            if (stopped)
            {
                break;
            }
        }
    }

    private void SampleUntilStopped(SamplingSlice slice, TimeSpan stopAfter)
    {
        Volatile.Write(ref _current, slice);
        // Never stop a session from the thread that reads it before it reads: the runtime answers
        // the stop only after flushing the session into its stream, which then waits for a reader
        // (a deadlock that also blocks every thread writing an event). The timer stops it instead.
        using (new Timer(s => StopSlice((SamplingSlice)s!), slice, stopAfter, Timeout.InfiniteTimeSpan))
        {
            ProcessUntilStopped(slice);
        }
        EndReadings();
    }

    private SamplingSlice? TryStartSlice()
    {
        try
        {
            return StartSlice();
        }
        catch (Exception e)
        {
            if (_throttle.ShouldLog("session", out var suppressed))
            {
                _logger.LogWarning(e, "Pyroscope profiler could not start an EventPipe session; retrying next window ({Suppressed} similar failures since the last message).", suppressed);
            }
            return null;
        }
    }

    private void ProcessUntilStopped(SamplingSlice slice)
    {
        // This thread waits for the session's bytes in a Monitor.Wait the runtime reports as contention: the
        // profiler's own waiting, not the application's locks.
        slice.Collector.IgnoredContentionThread = OsThreads.CurrentThreadId;
        try
        {
            slice.Process();
        }
        catch (Exception e) when (Volatile.Read(ref _disposed) == 0)
        {
            if (_throttle.ShouldLog("process", out _))
            {
                _logger.LogError(e, "Pyroscope profiler stopped reading its EventPipe session.");
            }
        }
        catch (Exception)
        {
            // The session is being torn down: a broken stream is expected.
        }
    }

    private void Cut(SamplingSlice slice, double scale, bool sessionEnded)
    {
        var windowCpu = _poller?.CloseWindow();
        var now = windowCpu?.EndedAt ?? DateTimeOffset.UtcNow;
        _windowStartTicks = Stopwatch.GetTimestamp();
        _nextCut = _windowStartTicks + _intervalTicks;
        try
        {
            var profiles = slice.Collector.Drain(NetTraceConverter.UnixNanos(_windowStart.UtcDateTime), NetTraceConverter.UnixNanos(now.UtcDateTime), scale, _types, windowCpu, sessionEnded);
            if (profiles.Count > 0)
            {
                _queue.Enqueue(new ProfileBatch(_windowStart, now, profiles));
            }
            if (slice.TraceLog.CallStacks.Count > MaxInternedCallStacks)
            {
                slice.TraceLog.TrimLiveSessionState();
            }
            slice.Collector.ForgetThreadsBeyond(MaxTrackedThreads);
        }
        catch (Exception e)
        {
            if (_throttle.ShouldLog("build", out _))
            {
                _logger.LogError(e, "Pyroscope profiler could not build the profiles of {From:o}..{Until:o}.", _windowStart, now);
            }
        }
        _windowStart = now;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (Volatile.Read(ref _current) is { } current)
        {
            StopSlice(current);
        }
        if (await Task.WhenAny(_processing, Task.Delay(StopGrace)).ConfigureAwait(false) != _processing)
        {
            Volatile.Read(ref _current)?.StopProcessing();
            await Task.WhenAny(_processing, Task.Delay(StopGrace)).ConfigureAwait(false);
        }
        await _queue.StopAsync(StopGrace).ConfigureAwait(false);
        _poller?.Dispose();
        _spans?.Dispose();
        _stopping.Dispose();
    }
}
