using System.Diagnostics;
using System.Net;
using Pyroscope.LoadTest.Workload;

namespace Pyroscope.LoadTest.Load;

/// <summary>
/// N connections, each sending one request after the other (closed loop: the maximum rate the server sustains at
/// that concurrency), or paced to a fixed total rate (<see cref="RatePerSecond"/>, for the soak). Requests are
/// counted only while <see cref="StartRecording"/> is on, so a warm-up and the measured phase are one steady stream.
/// </summary>
public sealed class LoadGenerator : IDisposable
{
    private readonly HttpClient _client;
    private readonly IWorkload _workload;
    private readonly int _connections;
    private long _sequence;
    private long _completed;
    private volatile Recording? _recording;

    public LoadGenerator(Uri server, IWorkload workload, int connections)
    {
        _workload = workload;
        _connections = connections;
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = connections,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
            Expect100ContinueTimeout = TimeSpan.Zero,
        };
        _client = new HttpClient(handler) { BaseAddress = server, Timeout = TimeSpan.FromMinutes(2) };
    }

    /// <summary>Total requests per second across all connections; 0 or null: as fast as the server answers.</summary>
    public double? RatePerSecond { get; init; }

    /// <summary>Requests answered since <see cref="RunAsync"/> started, recorded or not (errors included).</summary>
    public long Completed => Interlocked.Read(ref _completed);

    public void StartRecording() => _recording = new Recording(_connections);

    /// <summary>Stops counting and returns what was counted since <see cref="StartRecording"/>.</summary>
    public LoadResult StopRecording()
    {
        var recording = _recording ?? throw new InvalidOperationException("not recording");
        _recording = null;
        return recording.Finish();
    }

    /// <summary>Sends until <paramref name="stop"/> is cancelled; in-flight requests are awaited, not abandoned.</summary>
    public Task RunAsync(CancellationToken stop)
    {
        var start = Stopwatch.GetTimestamp();
        var workers = new Task[_connections];
        for (var i = 0; i < workers.Length; i++)
        {
            var worker = i;
            workers[i] = Task.Run(() => WorkerAsync(worker, start, stop));
        }
        return Task.WhenAll(workers);
    }

    private async Task WorkerAsync(int worker, long start, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var index = Interlocked.Increment(ref _sequence) - 1;
            if (RatePerSecond is > 0 and var rate)
            {
                var due = start + (long)(index / rate * Stopwatch.Frequency);
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                if (wait > TimeSpan.Zero)
                {
                    try
                    {
                        await Task.Delay(wait, stop).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }
                }
            }
            using var request = _workload.Create(index, out var bodyBytes);
            var sent = Stopwatch.GetTimestamp();
            string? error = null;
            try
            {
                // Not cancelled by `stop`: a request cut off mid-flight would count as an error of the server.
                using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseContentRead, CancellationToken.None).ConfigureAwait(false);
                if (!response.IsSuccessStatusCode)
                {
                    var text = await response.Content.ReadAsStringAsync(CancellationToken.None).ConfigureAwait(false);
                    error = $"{(int)response.StatusCode}: {(text.Length > 300 ? text[..300] : text)}";
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
            {
                error = e.GetType().Name + ": " + e.Message;
            }
            var elapsedTicks = Stopwatch.GetTimestamp() - sent;
            Interlocked.Increment(ref _completed);
            // Throughput = completions inside the window, whenever they started: unbiased in a steady stream.
            _recording?.Add(worker, elapsedTicks, bodyBytes, error);
        }
    }

    public void Dispose() => _client.Dispose();

    private sealed class Recording
    {
        private readonly List<long>[] _latencies;
        private readonly long _start = Stopwatch.GetTimestamp();
        private readonly Lock _lock = new();
        private readonly List<string> _errorSamples = [];
        private long _requests;
        private long _bytes;
        private long _errors;
        private bool _finished;

        public Recording(int connections)
        {
            _latencies = new List<long>[connections];
            for (var i = 0; i < connections; i++)
            {
                _latencies[i] = new List<long>(1 << 14);
            }
        }

        public void Add(int worker, long elapsedTicks, int bodyBytes, string? error)
        {
            lock (_lock)
            {
                if (_finished)
                {
                    return;
                }
                if (error is null)
                {
                    _latencies[worker].Add(elapsedTicks);
                    _requests++;
                    _bytes += bodyBytes;
                    return;
                }
                _errors++;
                if (_errorSamples.Count < 5)
                {
                    _errorSamples.Add(error);
                }
            }
        }

        public LoadResult Finish()
        {
            lock (_lock)
            {
                _finished = true;
            }
            var seconds = Stopwatch.GetElapsedTime(_start).TotalSeconds;
            var all = new List<long>();
            foreach (var list in _latencies)
            {
                all.AddRange(list);
            }
            all.Sort();
            return new LoadResult(seconds, _requests, _bytes, _errors,
                Percentile(all, 0.50), Percentile(all, 0.99), [.. _errorSamples]);
        }

        private static double Percentile(List<long> sorted, double q) =>
            sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)(q * sorted.Count))] * 1000.0 / Stopwatch.Frequency;
    }
}

/// <summary>Successful requests (one profile each), their body bytes, failures, and latency percentiles in ms.</summary>
public sealed record LoadResult(double Seconds, long Profiles, long Bytes, long Errors, double P50Ms, double P99Ms, IReadOnlyList<string> ErrorSamples)
{
    public double ProfilesPerSecond => Profiles / Seconds;

    public double MegabytesPerSecond => Bytes / 1048576.0 / Seconds;
}
