using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Pyroscope.Profiler.Tests;

/// <summary>A minimal stand-in for the server's <c>POST /ingest</c> that records what arrives.</summary>
internal sealed class IngestCaptureServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    public sealed record Push(IReadOnlyDictionary<string, string> Query, IReadOnlyDictionary<string, string> Headers, string ContentType, byte[] Profile);

    public ConcurrentQueue<Push> Pushes { get; } = new();

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
        app.MapPost("/ingest", async (HttpRequest request) =>
        {
            var form = await request.ReadFormAsync();
            var file = form.Files["profile"];
            using var buffer = new MemoryStream();
            if (file is not null)
            {
                await file.CopyToAsync(buffer);
            }
            capture.Pushes.Enqueue(new Push(
                request.Query.ToDictionary(q => q.Key, q => q.Value.ToString()),
                request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
                request.ContentType ?? "",
                buffer.ToArray()));
            return Results.StatusCode(capture.StatusCode);
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
