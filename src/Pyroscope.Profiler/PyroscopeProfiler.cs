using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pyroscope.Profiler.Collection;
using Pyroscope.Profiler.Export;

namespace Pyroscope.Profiler;

/// <summary>
/// Entry point of the in-process profiler: samples this process through EventPipe (no native
/// agent) and pushes cpu, wall, allocation, lock and exception profiles to a Pyroscope server every
/// <see cref="ProfilerOptions.UploadInterval"/>. Dispose the handle to flush and stop.
/// </summary>
public static class PyroscopeProfiler
{
    /// <summary>
    /// Starts profiling. Invalid options throw <see cref="ArgumentException"/>; a runtime that
    /// refuses the session (diagnostics disabled, …) is logged and gives a handle that does nothing,
    /// so profiling never takes the host down.
    /// </summary>
    /// <param name="httpClient">Sends to <see cref="ProfilerOptions.ServerAddress"/> when no exporter is set; not disposed by the profiler.</param>
    public static IAsyncDisposable Start(ProfilerOptions options, ILogger? logger = null, HttpClient? httpClient = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        logger ??= NullLogger.Instance;
        if (!options.Enabled)
        {
            return NoopHandle.Instance;
        }
        HttpClient? ownedClient = null;
        var exporter = options.Exporter;
        if (exporter is null)
        {
            httpClient ??= ownedClient = CreateHttpClient();
            exporter = new PyroscopePushExporter(httpClient, options);
        }
        var queue = new UploadQueue(exporter, options.MaxPendingUploads, options.MaxUploadAge, logger);
        try
        {
            var profiler = ContinuousProfiler.Start(options, queue, logger);
            logger.LogInformation("Pyroscope profiler started for {Application}, pushing every {Interval}.", options.ApplicationName, options.UploadInterval);
            return new Handle(profiler, ownedClient);
        }
        catch (Exception e)
        {
            logger.LogError(e, "Pyroscope profiler could not start an EventPipe session on its own process; profiling is off.");
            _ = queue.DisposeAsync().AsTask();
            ownedClient?.Dispose();
            return NoopHandle.Instance;
        }
    }

    /// <summary>
    /// The profiler's own client: not from the host's IHttpClientFactory, whose logging and resilience
    /// handlers would log every upload at information level.
    /// </summary>
    internal static HttpClient CreateHttpClient() => new(new SocketsHttpHandler
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectTimeout = TimeSpan.FromSeconds(5),
    })
    {
        Timeout = TimeSpan.FromSeconds(10),
    };

    private sealed class Handle(ContinuousProfiler profiler, HttpClient? ownedClient) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await profiler.DisposeAsync().ConfigureAwait(false);
            ownedClient?.Dispose();
        }
    }

    private sealed class NoopHandle : IAsyncDisposable
    {
        public static readonly NoopHandle Instance = new();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
