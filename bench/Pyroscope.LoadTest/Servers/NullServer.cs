using System.Buffers;
using System.Globalization;
using System.IO.Compression;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pyroscope.Contracts.Push.V1;
using Pyroscope.Formats.Pprof;
using Pyroscope.Storage.Wal;
using Pyroscope.Testing;

namespace Pyroscope.LoadTest.Servers;

/// <summary>What a null server does with each request beyond reading it off the socket and gunzipping its profiles.</summary>
[Flags]
public enum NullWork
{
    /// <summary>Gunzips every profile: the baseline of the goals.</summary>
    Gunzip = 0,

    /// <summary>Also appends the body to the product's write-ahead log and answers once it is durable: the floor of a server that acknowledges only synced writes.</summary>
    Wal = 1,

    /// <summary>Gunzips and reads every profile with the product's pprof reader: the floor of a server that has to look inside.</summary>
    PprofRead = 2,

    /// <summary>Both: what the product does before it normalises, durably.</summary>
    PprofReadAndWal = Wal | PprofRead,
}

/// <summary>
/// The baseline: the same Kestrel, the same routes, and the least work any ingest path must do — read the body
/// off the socket and gunzip every profile in it (Push: parse the envelope to find them). Nothing is kept.
/// Runs as its own process (<c>null-server --port P</c>) so its CPU and RSS are measured like the monolith's.
/// Its floors (<see cref="NullWork"/>) add pieces of the product's write path, so that a goal stated
/// against the baseline can be read against what a durable, or a decoding, server cannot avoid.
/// </summary>
public static class NullServer
{
    /// <summary>The harness's limit for the servers under test (the eBPF profile is 7.8 MB raw).</summary>
    private const long MaxDecompressedBytes = 256L << 20;

    private static long s_profiles;
    private static long s_decompressedBytes;
    /// <summary>The WAL floor keeps this much log on disk at most (see <see cref="LogAsync"/>).</summary>
    private const long WalBytesKept = 256L << 20;

    private static NullWork s_work;
    private static WriteAheadLog? s_wal;
    private static int s_releasing;

    public static async Task RunAsync(int port, NullWork work, string? walDirectory, bool fsync)
    {
        s_work = work;
        if (work.HasFlag(NullWork.Wal))
        {
            s_wal = WriteAheadLog.Open(walDirectory ?? throw new ArgumentException("the WAL floor needs a directory"), fsync, NullLogger.Instance, out _);
        }
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
            ReadProfile(buffer.AsMemory(0, length));
            await LogAsync(buffer.AsMemory(0, length));
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
                    ReadProfile(sample.RawProfile.Memory);
                }
            }
            await LogAsync(buffer.AsMemory(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        http.Response.StatusCode = 200;
        http.Response.ContentType = "application/proto";
        http.Response.ContentLength = 0;
    }

    /// <summary>
    /// The WAL floor's durable write. Past <see cref="WalBytesKept"/> on disk the log is rotated and the closed segments
    /// released, as the product does when a head is flushed: 4 MB profiles would otherwise fill the disk within minutes.
    /// </summary>
    private static async Task LogAsync(ReadOnlyMemory<byte> body)
    {
        if (s_wal is not { } wal)
        {
            return;
        }
        await wal.AppendAsync(body);
        if (wal.BytesOnDisk > WalBytesKept && Interlocked.CompareExchange(ref s_releasing, 1, 0) == 0)
        {
            try
            {
                wal.Checkpoint(wal.Rotate());
            }
            finally
            {
                Volatile.Write(ref s_releasing, 0);
            }
        }
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

    /// <summary>Gunzips one profile and counts it; the pprof floors read it with the product's reader instead.</summary>
    private static void ReadProfile(ReadOnlyMemory<byte> data)
    {
        if (s_work.HasFlag(NullWork.PprofRead))
        {
            using var profile = PprofReader.Read(data, MaxDecompressedBytes, "pprof", out var size);
            Interlocked.Increment(ref s_profiles);
            Interlocked.Add(ref s_decompressedBytes, size);
            return;
        }
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

    private NullServerProcess(ExternalProcess process, int port, NullWork work, string? walDirectory)
    {
        _process = process;
        WalDirectory = walDirectory;
        Name = work switch
        {
            NullWork.Wal => "null + WAL",
            NullWork.PprofRead => "null + pprof read",
            NullWork.PprofReadAndWal => "null + pprof read + WAL",
            _ => "null server",
        };
        Address = new Uri($"http://127.0.0.1:{port}");
        _http = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(10) };
    }

    public string Name { get; }

    /// <summary>The WAL floor's log (null for the others).</summary>
    public string? WalDirectory { get; }

    public Uri Address { get; }

    public IReadOnlyList<int> ProcessIds => [_process.Id];

    public string Output => _process.Output;

    /// <param name="dataRoot">Where the WAL floor keeps its log (a directory of its own is made in it).</param>
    public static async Task<NullServerProcess> StartAsync(CancellationToken cancellationToken, NullWork work = NullWork.Gunzip, string? dataRoot = null, bool walFsync = true)
    {
        var port = FreePort.Next();
        List<string> args = [typeof(NullServer).Assembly.Location, "null-server", "--port", port.ToString(CultureInfo.InvariantCulture)];
        if (work != NullWork.Gunzip)
        {
            args.AddRange(["--null-work", work.ToString()]);
        }
        string? walDirectory = null;
        if (work.HasFlag(NullWork.Wal))
        {
            walDirectory = Path.Combine(dataRoot ?? throw new ArgumentNullException(nameof(dataRoot)), $"null-wal-{port}");
            args.AddRange(["--wal-dir", walDirectory, "--wal-fsync", walFsync ? "true" : "false"]);
        }
        var process = ExternalProcess.Start("dotnet", [.. args]);
        var server = new NullServerProcess(process, port, work, walDirectory);
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
