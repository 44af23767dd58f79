using System.Buffers;
using System.Globalization;
using System.IO.Compression;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Pyroscope.Contracts.Push.V1;
using Pyroscope.Testing;

namespace Pyroscope.LoadTest.Servers;

/// <summary>
/// The baseline: the same Kestrel, the same routes, and the least work any ingest path must do — read the body
/// off the socket and gunzip every profile in it (Push: parse the envelope to find them). Nothing is kept.
/// Runs as its own process (<c>null-server --port P</c>) so its CPU and RSS are measured like the monolith's.
/// </summary>
public static class NullServer
{
    private static long s_profiles;
    private static long s_decompressedBytes;

    public static async Task RunAsync(int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k =>
        {
            k.ListenLocalhost(port);
            k.Limits.MaxRequestBodySize = 512L << 20;
        });
        var app = builder.Build();
        app.MapGet("/ready", () => "ready");
        app.MapGet("/metrics", Metrics);
        app.MapPost("/ingest", IngestAsync);
        app.MapPost("/push.v1.PusherService/Push", PushAsync);
        await app.RunAsync();
    }

    private static async Task IngestAsync(HttpContext http)
    {
        var (buffer, length) = await ReadBodyAsync(http.Request);
        try
        {
            Gunzip(buffer.AsMemory(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        http.Response.StatusCode = 200;
    }

    private static async Task PushAsync(HttpContext http)
    {
        var (buffer, length) = await ReadBodyAsync(http.Request);
        try
        {
            var push = PushRequest.Parser.ParseFrom(buffer.AsSpan(0, length));
            foreach (var series in push.Series)
            {
                foreach (var sample in series.Samples)
                {
                    Gunzip(sample.RawProfile.Memory);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        http.Response.StatusCode = 200;
        http.Response.ContentType = "application/proto";
        http.Response.ContentLength = 0;
    }

    private static async Task<(byte[] Buffer, int Length)> ReadBodyAsync(HttpRequest request)
    {
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Max(4096, (request.ContentLength ?? 0) + 1));
        var length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                buffer.AsSpan(0, length).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = bigger;
            }
            var read = await request.Body.ReadAsync(buffer.AsMemory(length));
            if (read == 0)
            {
                return (buffer, length);
            }
            length += read;
        }
    }

    private static void Gunzip(ReadOnlyMemory<byte> data)
    {
        var span = data.Span;
        if (span.Length < 2 || span[0] != 0x1f || span[1] != 0x8b)
        {
            Interlocked.Increment(ref s_profiles);
            Interlocked.Add(ref s_decompressedBytes, span.Length);
            return;
        }
        var scratch = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            using var gzip = new GZipStream(new ReadOnlyMemoryStream(data), CompressionMode.Decompress);
            long total = 0;
            int read;
            while ((read = gzip.Read(scratch)) > 0)
            {
                total += read;
            }
            Interlocked.Increment(ref s_profiles);
            Interlocked.Add(ref s_decompressedBytes, total);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    private static string Metrics() => string.Create(CultureInfo.InvariantCulture, $"""
        {RuntimeCounters.AllocatedMetric} {GC.GetTotalAllocatedBytes()}
        {RuntimeCounters.PauseMetric} {GC.GetTotalPauseDuration().TotalSeconds}
        null_server_profiles_total {Interlocked.Read(ref s_profiles)}
        null_server_decompressed_bytes_total {Interlocked.Read(ref s_decompressedBytes)}

        """);

    /// <summary>A read-only stream over memory the pool owns, so gunzip reads the body in place.</summary>
    private sealed class ReadOnlyMemoryStream(ReadOnlyMemory<byte> data) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => data.Length;

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = Math.Min(buffer.Length, data.Length - _position);
            data.Span.Slice(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

/// <summary>The null server as a child process of the harness.</summary>
public sealed class NullServerProcess : IServerUnderTest
{
    private readonly ExternalProcess _process;
    private readonly HttpClient _http;

    private NullServerProcess(ExternalProcess process, int port)
    {
        _process = process;
        Address = new Uri($"http://127.0.0.1:{port}");
        _http = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(10) };
    }

    public string Name => "null server";

    public Uri Address { get; }

    public IReadOnlyList<int> ProcessIds => [_process.Id];

    public string Output => _process.Output;

    public static async Task<NullServerProcess> StartAsync(CancellationToken cancellationToken)
    {
        var port = FreePort.Next();
        var process = ExternalProcess.Start("dotnet", [typeof(NullServer).Assembly.Location, "null-server", "--port", port.ToString(CultureInfo.InvariantCulture)]);
        var server = new NullServerProcess(process, port);
        try
        {
            await Readiness.WaitForGetAsync(server._http, "/ready", process, TimeSpan.FromSeconds(60), cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    public Task<RuntimeCounters> ReadCountersAsync(CancellationToken cancellationToken) => RuntimeCounters.ScrapeAsync(_http, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _process.DisposeAsync();
    }
}
