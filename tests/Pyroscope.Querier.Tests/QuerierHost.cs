using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pyroscope.Model;

namespace Pyroscope.Querier.Tests;

/// <summary>The querier on a real Kestrel: an HTTP/1.1+h2 port (Connect, legacy API) and an h2c-only port (gRPC).</summary>
public sealed class QuerierHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private QuerierHost(WebApplication app, Uri http, Uri grpc)
    {
        _app = app;
        HttpAddress = http;
        GrpcAddress = grpc;
        Http = new HttpClient(new HttpClientHandler { AutomaticDecompression = DecompressionMethods.None }) { BaseAddress = http };
    }

    public Uri HttpAddress { get; }

    public Uri GrpcAddress { get; }

    public HttpClient Http { get; }

    public static async Task<QuerierHost> StartAsync(IProfileReader reader, IDictionary<string, string?>? config = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(config ?? new Dictionary<string, string?>());
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http1AndHttp2);
            k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2);
        });
        builder.Services.AddSingleton(reader);
        builder.Services.AddQuerier(builder.Configuration);
        var app = builder.Build();
        app.UseGrpcWeb();
        app.MapQuerier();
        await app.StartAsync();
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToList();
        return new QuerierHost(app, new Uri(addresses[0]), new Uri(addresses[1]));
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
