using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Pyroscope.Contracts.Push.V1;

namespace Pyroscope.Profiler.Tests;

/// <summary>
/// A minimal stand-in for the server's Connect <c>push.v1.PusherService/Push</c> that records every
/// series that arrives (decoded here with the server's contracts, independently of the profiler).
/// </summary>
internal sealed class IngestCaptureServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    public sealed record Push(IReadOnlyDictionary<string, string> Labels, IReadOnlyDictionary<string, string> Headers, string ContentType, byte[] Profile)
    {
        public string Name => Labels["__name__"];
    }

    public ConcurrentQueue<Push> Pushes { get; } = new();

    public int Requests;

    /// <summary>Status answered to pushes; 200 unless a test wants the server to misbehave.</summary>
    public int StatusCode { get; set; } = 200;

    private IngestCaptureServer(WebApplication app) => _app = app;

    public string Address => _app.Services.GetService(typeof(IServer)) is IServer server
        ? server.Features.Get<IServerAddressesFeature>()!.Addresses.First()
        : throw new InvalidOperationException();

    public static async Task<IngestCaptureServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var capture = new IngestCaptureServer(app);
        app.MapPost("/push.v1.PusherService/Push", async (HttpRequest request) =>
        {
            Interlocked.Increment(ref capture.Requests);
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            if (capture.StatusCode != 200)
            {
                return Results.Json(new { code = "invalid_argument", message = "refused by the test" }, statusCode: capture.StatusCode);
            }
            var push = PushRequest.Parser.ParseFrom(body.ToArray());
            var headers = request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            foreach (var series in push.Series)
            {
                var labels = series.Labels.ToDictionary(l => l.Name, l => l.Value);
                foreach (var sample in series.Samples)
                {
                    capture.Pushes.Enqueue(new Push(labels, headers, request.ContentType ?? "", sample.RawProfile.ToByteArray()));
                }
            }
            return Results.Bytes([], "application/proto");
        });
        await app.StartAsync();
        return capture;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
