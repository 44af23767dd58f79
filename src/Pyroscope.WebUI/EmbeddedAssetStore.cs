using System.IO.Compression;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.StaticFiles;

namespace Pyroscope.WebUI;

/// <summary>
/// Loads every embedded UI file once. Assets are small (tens of KB), so keeping them and their gzip
/// copies in memory is cheaper than touching the manifest stream on every request.
/// </summary>
internal sealed class EmbeddedAssetStore
{
    private const string ResourcePrefix = "webui/";
    private readonly Dictionary<string, EmbeddedAsset> _assets = new(StringComparer.Ordinal);

    public static EmbeddedAssetStore Shared { get; } = Load(typeof(EmbeddedAssetStore).Assembly);

    public IReadOnlyCollection<string> Paths => _assets.Keys;

    public bool TryGet(string path, out EmbeddedAsset asset) => _assets.TryGetValue(path, out asset!);

    private static EmbeddedAssetStore Load(Assembly assembly)
    {
        var store = new EmbeddedAssetStore();
        var contentTypes = new FileExtensionContentTypeProvider();
        contentTypes.Mappings[".js"] = "text/javascript; charset=utf-8";
        contentTypes.Mappings[".mjs"] = "text/javascript; charset=utf-8";
        contentTypes.Mappings[".css"] = "text/css; charset=utf-8";
        contentTypes.Mappings[".html"] = "text/html; charset=utf-8";
        contentTypes.Mappings[".svg"] = "image/svg+xml";

        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(ResourcePrefix, StringComparison.Ordinal))
                continue;
            // RecursiveDir uses the build machine's separator; URLs always use '/'.
            var path = resource[ResourcePrefix.Length..].Replace('\\', '/');
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var content = buffer.ToArray();
            var contentType = contentTypes.TryGetContentType(path, out var type) ? type : "application/octet-stream";
            var etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(content).AsSpan(0, 12)) + "\"";
            store._assets[path] = new EmbeddedAsset(path, content, Compress(content, contentType), contentType, etag);
        }
        return store;
    }

    private static byte[]? Compress(byte[] content, string contentType)
    {
        if (!contentType.StartsWith("text/", StringComparison.Ordinal) && !contentType.Contains("json") && !contentType.Contains("svg"))
            return null;
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.SmallestSize, leaveOpen: true))
            gzip.Write(content);
        return output.Length < content.Length ? output.ToArray() : null;
    }
}
