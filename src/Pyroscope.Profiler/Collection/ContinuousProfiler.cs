using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Pyroscope.Profiler.Export;

namespace Pyroscope.Profiler.Collection;

/// <summary>
/// Samples the own process through EventPipe and hands one batch of profiles per
/// <see cref="ProfilerOptions.UploadInterval"/> to the upload queue. Duty-cycled by default: each
/// window runs its own session for <see cref="ProfilerOptions.SampledDurationPerInterval"/> at a
/// random offset and scales its values to the window's length; when that duration covers the whole
/// window one session runs for the profiler's life and is cut into windows on the event thread.
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
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _processing;
    private readonly long _intervalTicks;
    private SamplingSlice? _current;
    private long _nextCut;
    private DateTimeOffset _windowStart;
    private int _disposed;

    private ContinuousProfiler(ProfilerOptions options, UploadQueue queue, ILogger logger, SamplingSlice first)
    {
        _options = options;
        _logger = logger;
        _queue = queue;
        _current = first;
        _intervalTicks = (long)(options.UploadInterval.TotalSeconds * Stopwatch.Frequency);
        _windowStart = DateTimeOffset.UtcNow;
        _nextCut = Stopwatch.GetTimestamp() + _intervalTicks;
        var continuous = options.SampledDurationPerInterval >= options.UploadInterval;
        _processing = Task.Factory.StartNew(continuous ? () => RunContinuously(first) : () => RunDutyCycled(first),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Starts sampling at once, so a runtime that refuses the session throws here.</summary>
    public static ContinuousProfiler Start(ProfilerOptions options, UploadQueue queue, ILogger logger) =>
        new(options, queue, logger, SamplingSlice.Start(options));

    private void RunContinuously(SamplingSlice slice)
    {
        slice.Collector.AfterThreadSample = _ =>
        {
            if (Stopwatch.GetTimestamp() >= _nextCut)
            {
                Cut(slice, scale: 1);
            }
        };
        ProcessUntilStopped(slice);
        Cut(slice, scale: 1);
        slice.Dispose();
    }

    private void RunDutyCycled(SamplingSlice? slice)
    {
        var sampled = _options.SampledDurationPerInterval;
        var idle = _options.UploadInterval - sampled;
        var token = _stopping.Token;
        while (true)
        {
            var windowStarted = Stopwatch.GetTimestamp();
            if (slice is null)
            {
                // A random offset: work that recurs with the window's period is not always missed.
                if (token.WaitHandle.WaitOne(TimeSpan.FromTicks(Random.Shared.NextInt64(idle.Ticks + 1))))
                {
                    break;
                }
                slice = TryStartSlice();
            }
            if (slice is not null)
            {
                Volatile.Write(ref _current, slice);
                if (token.IsCancellationRequested)
                {
                    slice.Stop();
                }
                using (new Timer(static s => ((SamplingSlice)s!).Stop(), slice, sampled, Timeout.InfiniteTimeSpan))
                {
                    ProcessUntilStopped(slice);
                }
            }
            var left = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), windowStarted + _intervalTicks);
            var stopped = token.WaitHandle.WaitOne(left > TimeSpan.Zero ? left : TimeSpan.Zero);
            if (slice is not null)
            {
                var span = slice.Collector.SampledSpan;
                var window = DateTimeOffset.UtcNow - _windowStart;
                Cut(slice, span > TimeSpan.Zero ? Math.Max(1, window / span) : 1);
                Volatile.Write(ref _current, null);
                slice.Dispose();
                slice = null;
            }
            else
            {
                _windowStart = DateTimeOffset.UtcNow;
            }
            if (stopped)
            {
                break;
            }
        }
    }

    private SamplingSlice? TryStartSlice()
    {
        try
        {
            return SamplingSlice.Start(_options);
        }
        catch (Exception e)
        {
            _logger.LogWarning(e, "Pyroscope profiler could not start this window's EventPipe session; retrying next window.");
            return null;
        }
    }

    private void ProcessUntilStopped(SamplingSlice slice)
    {
        try
        {
            slice.Process();
        }
        catch (Exception e) when (Volatile.Read(ref _disposed) == 0)
        {
            _logger.LogError(e, "Pyroscope profiler stopped reading its EventPipe session.");
        }
        catch (Exception)
        {
            // The session is being torn down: a broken stream is expected.
        }
    }

    private void Cut(SamplingSlice slice, double scale)
    {
        var now = DateTimeOffset.UtcNow;
        _nextCut = Stopwatch.GetTimestamp() + _intervalTicks;
        try
        {
            var profiles = slice.Collector.Drain(NetTraceConverter.UnixNanos(_windowStart.UtcDateTime), NetTraceConverter.UnixNanos(now.UtcDateTime), scale);
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
        await _stopping.CancelAsync().ConfigureAwait(false);
        Volatile.Read(ref _current)?.Stop();
        if (await Task.WhenAny(_processing, Task.Delay(StopGrace)).ConfigureAwait(false) != _processing)
        {
            Volatile.Read(ref _current)?.StopProcessing();
            await Task.WhenAny(_processing, Task.Delay(StopGrace)).ConfigureAwait(false);
        }
        await _queue.StopAsync(StopGrace).ConfigureAwait(false);
        _stopping.Dispose();
    }
}
