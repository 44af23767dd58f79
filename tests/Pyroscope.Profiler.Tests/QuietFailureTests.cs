using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Pyroscope.Profiler.Export;
using Pyroscope.Testing;

namespace Pyroscope.Profiler.Tests;

/// <summary>
/// Quiet and safe: an upload that works logs nothing, failures log once per cause per minute, a server
/// that is down costs a bounded queue (windows dropped and counted), and nothing throws into the host.
/// </summary>
[Collection(InProcessProfilerCollection.Name)]
public sealed class QuietFailureTests
{
    [Fact]
    public async Task Refused_windows_are_dropped_counted_and_logged_once_per_cause_per_minute()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var logger = new CapturingLogger();
        var refusing = new RefusingExporter();
        var queue = new UploadQueue(refusing, capacity: 4, TimeSpan.FromMinutes(5), logger, time);
        for (var i = 0; i < 3; i++)
        {
            queue.Enqueue(Batch(time));
        }
        await refusing.WaitForAttemptsAsync(3);
        await WaitUntilAsync(() => queue.Dropped == 3);
        Assert.Single(logger.Warnings);

        time.Advance(TimeSpan.FromMinutes(1));
        queue.Enqueue(Batch(time));
        await refusing.WaitForAttemptsAsync(4);
        await WaitUntilAsync(() => queue.Dropped == 4);
        Assert.Equal(2, logger.Warnings.Count);
        // The second line says how many were held back since the first.
        Assert.Contains("2 similar", logger.Warnings.Last(), StringComparison.Ordinal);
        await queue.DisposeAsync();
    }

    [Fact]
    public async Task An_unreachable_server_costs_a_bounded_queue_and_one_line_per_cause()
    {
        var logger = new CapturingLogger();
        var options = new ProfilerOptions
        {
            ApplicationName = "unreachable",
            ServerAddress = $"http://127.0.0.1:{FreePort.Next()}",
            UploadInterval = TimeSpan.FromMilliseconds(500),
            SampledDurationPerInterval = TimeSpan.FromMilliseconds(200),
            MaxPendingUploads = 2,
        };
        await using (PyroscopeProfiler.Start(options, logger))
        {
            // Windows pile up behind the first one, which is being retried: the queue keeps two, drops the rest.
            await WaitUntilAsync(() => logger.Warnings.Any(w => w.Contains("dropping profiles", StringComparison.Ordinal)), TimeSpan.FromSeconds(30));
            await Task.Delay(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);
        }
        Assert.Single(logger.Warnings, w => w.Contains("dropping profiles", StringComparison.Ordinal));
        Assert.Single(logger.Warnings, w => w.Contains("upload failed", StringComparison.Ordinal));
        Assert.Empty(logger.Errors);
    }

    [Fact]
    public async Task A_self_profiling_monolith_logs_nothing_for_its_uploads()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await PyroscopeProcess.StartReadyAsync("Pyroscope.All", ["-self-profiling.upload-interval=1s"]);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        var profiles = 0.0;
        while (profiles < 6)
        {
            Assert.True(DateTime.UtcNow < deadline, "no self-profiling uploads: " + server.Output);
            await Task.Delay(500, ct);
            var text = await server.Http.GetStringAsync("/metrics", ct);
            profiles = text.Split('\n').Where(l => l.StartsWith("pyroscope_distributor_received_profiles_total", StringComparison.Ordinal))
                .Select(l => double.Parse(l.Split(' ').Last(), System.Globalization.CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Sum();
        }
        Assert.DoesNotContain("System.Net.Http.HttpClient", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Polly", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Pyroscope profiler upload failed", server.Output, StringComparison.Ordinal);
    }

    private static ProfileBatch Batch(TimeProvider time)
    {
        var now = time.GetUtcNow();
        return new ProfileBatch(now.AddSeconds(-10), now, []);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(20);
        }
    }

    private sealed class RefusingExporter : IProfileExporter
    {
        private int _attempts;

        public Task ExportAsync(ProfileBatch batch, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _attempts);
            throw new ProfileExportException("push answered 400: bad profile", retryable: false);
        }

        public Task WaitForAttemptsAsync(int attempts) => WaitUntilAsync(() => Volatile.Read(ref _attempts) >= attempts);
    }

    private sealed class CapturingLogger : ILogger
    {
        private readonly ConcurrentQueue<(LogLevel Level, string Message)> _entries = new();

        public List<string> Warnings => _entries.Where(e => e.Level == LogLevel.Warning).Select(e => e.Message).ToList();

        public List<string> Errors => _entries.Where(e => e.Level >= LogLevel.Error).Select(e => e.Message).ToList();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _entries.Enqueue((logLevel, formatter(state, exception)));
    }
}
