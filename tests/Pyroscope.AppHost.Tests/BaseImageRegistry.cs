using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Pyroscope.Testing;

namespace Pyroscope.AppHost.Tests;

/// <summary>
/// A read-only container registry on loopback (the Docker Registry HTTP API v2: manifests and blobs) serving one
/// small linux/amd64 base image. The SDK's container build pulls its base image from a registry; this machine
/// reaches no public one, so the test stands in for mcr.microsoft.com/dotnet/aspnet with an image of one marker
/// file and the environment the real one declares. What the SDK adds on top (the app layer, entrypoint, user)
/// is what the test checks.
/// </summary>
internal sealed class BaseImageRegistry : IAsyncDisposable
{
    public const string Repository = "dotnet/aspnet";
    public const string Tag = "10.0";
    public const string MarkerFile = "etc/test-base-image";

    private const string ManifestMediaType = "application/vnd.docker.distribution.manifest.v2+json";
    private readonly HttpListener _listener = new();
    private readonly Dictionary<string, byte[]> _blobs = new(StringComparer.Ordinal);
    private readonly byte[] _manifest;
    private readonly string _manifestDigest;
    private readonly Task _serving;

    private BaseImageRegistry(int port)
    {
        Host = $"127.0.0.1:{port}";
        var layerTar = Layer();
        var layer = Gzip(layerTar);
        var config = JsonSerializer.SerializeToUtf8Bytes(new
        {
            architecture = "amd64",
            os = "linux",
            config = new
            {
                Env = new[] { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "APP_UID=1654", "ASPNETCORE_HTTP_PORTS=8080", "DOTNET_RUNNING_IN_CONTAINER=true" },
                WorkingDir = "/",
            },
            rootfs = new { type = "layers", diff_ids = new[] { Digest(layerTar) } },
        });
        LayerDigest = Digest(layer);
        _blobs[LayerDigest] = layer;
        _blobs[Digest(config)] = config;
        _manifest = JsonSerializer.SerializeToUtf8Bytes(new
        {
            schemaVersion = 2,
            mediaType = ManifestMediaType,
            config = new { mediaType = "application/vnd.docker.container.image.v1+json", size = config.Length, digest = Digest(config) },
            layers = new[] { new { mediaType = "application/vnd.docker.image.rootfs.diff.tar.gzip", size = layer.Length, digest = LayerDigest } },
        });
        _manifestDigest = Digest(_manifest);
        _listener.Prefixes.Add($"http://{Host}/");
        _listener.Start();
        _serving = ServeAsync();
    }

    /// <summary>host:port, for DOTNET_CONTAINER_INSECURE_REGISTRIES (plain HTTP on loopback).</summary>
    public string Host { get; }

    public string Image => $"{Host}/{Repository}:{Tag}";

    public string LayerDigest { get; }

    public static BaseImageRegistry Start() => new(FreePort.Next());

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                return;
            }
            using var response = context.Response;
            var path = context.Request.Url!.AbsolutePath;
            var (status, body, type, digest) = path switch
            {
                "/v2/" => (200, "{}"u8.ToArray(), "application/json", null),
                _ when path.StartsWith($"/v2/{Repository}/manifests/", StringComparison.Ordinal) => (200, _manifest, ManifestMediaType, _manifestDigest),
                _ when path.StartsWith($"/v2/{Repository}/blobs/", StringComparison.Ordinal) && _blobs.TryGetValue(path[(path.LastIndexOf('/') + 1)..], out var blob)
                    => (200, blob, "application/octet-stream", path[(path.LastIndexOf('/') + 1)..]),
                _ => (404, "{\"errors\":[{\"code\":\"NAME_UNKNOWN\"}]}"u8.ToArray(), "application/json", (string?)null),
            };
            response.StatusCode = status;
            response.ContentType = type;
            response.ContentLength64 = body.Length;
            if (digest is not null)
            {
                response.Headers["Docker-Content-Digest"] = digest;
            }
            if (context.Request.HttpMethod != "HEAD")
            {
                await response.OutputStream.WriteAsync(body);
            }
        }
    }

    private static byte[] Layer()
    {
        using var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, MarkerFile) { DataStream = new MemoryStream(Encoding.ASCII.GetBytes("test base image\n")) };
            writer.WriteEntry(entry);
        }
        return tar.ToArray();
    }

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(data);
        }
        return output.ToArray();
    }

    private static string Digest(byte[] data) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _serving;
    }
}
