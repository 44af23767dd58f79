using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pyroscope.Contracts.Google.V1;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Formats.Normalization;
using Pyroscope.Model;
using Pyroscope.Model.Ingest;
using Pyroscope.Testing;

namespace Pyroscope.Distributor.Tests;

/// <summary>Records what the distributor forwards; can be made to fail or to hold pushes until released.</summary>
public sealed class RecordingIngester : IIngesterClient
{
    public ConcurrentQueue<(string Tenant, PushRequest Request)> Pushes { get; } = new();

    public Exception? FailWith { get; set; }

    public TaskCompletionSource? Gate { get; set; }

    public int Calls;

    /// <summary>Records the push as the ingester.v1 series a remote ingester would get (the push's memory is the caller's).</summary>
    public async Task PushAsync(string tenantId, IngestPush push, CancellationToken cancellationToken)
    {
        var request = new PushRequest();
        foreach (var profile in push.Profiles)
        {
            if (profile.Normalized is { } normalized)
            {
                request.Series.AddRange(ProfileMaterializer.ToSeries(normalized));
            }
        }
        Interlocked.Increment(ref Calls);
        if (Gate is { } gate)
        {
            await gate.Task.WaitAsync(cancellationToken);
        }
        if (FailWith is { } e)
        {
            throw e;
        }
        Pushes.Enqueue((tenantId, request));
    }

    public List<ProfileSeries> AllSeries() => Pushes.SelectMany(p => p.Request.Series).ToList();
}

/// <summary>A real Kestrel on free loopback ports: HTTP/1.1+h2 for HTTP/Connect/gRPC-Web, h2c-only for gRPC.</summary>
public sealed class DistributorHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private DistributorHost(WebApplication app, RecordingIngester ingester, Uri http, Uri grpc)
    {
        _app = app;
        Ingester = ingester;
        HttpAddress = http;
        GrpcAddress = grpc;
        Client = new HttpClient { BaseAddress = http };
    }

    public RecordingIngester Ingester { get; }

    public Uri HttpAddress { get; }

    public Uri GrpcAddress { get; }

    public HttpClient Client { get; }

    /// <summary>Limits that let old fixtures in: no ingestion window.</summary>
    public static Dictionary<string, string?> DefaultConfig() => new()
    {
        ["limits:reject_older_than"] = "0",
        ["limits:reject_newer_than"] = "0",
    };

    public static async Task<DistributorHost> StartAsync(Dictionary<string, string?>? config = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(config ?? DefaultConfig());
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http1AndHttp2);
            k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2);
        });
        var ingester = new RecordingIngester();
        builder.Services.AddSingleton<IIngesterClient>(ingester);
        builder.Services.AddDistributor(builder.Configuration);
        var app = builder.Build();
        app.UseGrpcWeb();
        app.MapDistributor();
        await app.StartAsync();
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Select(a => new Uri(a)).ToArray();
        return new DistributorHost(app, ingester, addresses[0], addresses[1]);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

internal static class Fixtures
{
    public static string PathOf(string relative) => RepositoryPaths.Fixture(relative);

    public static byte[] Read(string relative) => File.ReadAllBytes(PathOf(relative));

    public static Profile Decode(byte[] bytes)
    {
        if (bytes[0] == 0x1f && bytes[1] == 0x8b)
        {
            using var gzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
            using var plain = new MemoryStream();
            gzip.CopyTo(plain);
            bytes = plain.ToArray();
        }
        return Profile.Parser.ParseFrom(bytes);
    }

    public static Dictionary<string, long> Totals(Profile p)
    {
        var totals = new Dictionary<string, long>();
        for (var t = 0; t < p.SampleType.Count; t++)
        {
            var sum = p.Sample.Sum(s => s.Value[t]);
            if (sum != 0)
            {
                var name = p.StringTable[(int)p.SampleType[t].Type];
                totals[name] = totals.GetValueOrDefault(name) + sum;
            }
        }
        return totals;
    }

    public static Dictionary<string, long> Totals(IEnumerable<ProfileSeries> series)
    {
        var totals = new Dictionary<string, long>();
        foreach (var s in series)
        {
            foreach (var (k, v) in Totals(s.Profile))
            {
                totals[k] = totals.GetValueOrDefault(k) + v;
            }
        }
        return totals;
    }

    public static string? Label(ProfileSeries series, string name) => series.Labels.FirstOrDefault(l => l.Name == name)?.Value;
}
