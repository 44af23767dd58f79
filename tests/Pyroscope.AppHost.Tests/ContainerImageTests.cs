using System.Formats.Tar;
using System.Text.Json;
using Pyroscope.Testing;

namespace Pyroscope.AppHost.Tests;

/// <summary>
/// Component images come from <c>dotnet publish -t:PublishContainer</c> (the SDK's container support, what azd
/// runs for a project resource): no Dockerfile, no Docker engine. Here to a tarball, on top of a base image
/// served from loopback (see <see cref="BaseImageRegistry"/>).
/// </summary>
public class ContainerImageTests
{
    [Fact]
    public async Task Dotnet_publish_builds_the_distributor_image_into_a_tarball_without_a_docker_engine()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var registry = BaseImageRegistry.Start();
        var output = Directory.CreateTempSubdirectory("pyroscope-image-").FullName;
        try
        {
            var archive = Path.Combine(output, "distributor.tar");
            var (code, log) = await ExternalProcess.RunAsync("dotnet",
                [
                    "publish", Path.Combine(RepositoryPaths.Root, "src", "Pyroscope.Distributor", "Pyroscope.Distributor.csproj"),
                    "--no-build", "-c", RepositoryPaths.Configuration, "-t:PublishContainer", "-nologo", "-v:m",
                    $"-p:PublishDir={Path.Combine(output, "publish")}/",
                    $"-p:ContainerBaseImage={registry.Image}",
                    $"-p:ContainerArchiveOutputPath={archive}",
                ],
                TimeSpan.FromMinutes(5),
                environment: new Dictionary<string, string?> { ["DOTNET_CONTAINER_INSECURE_REGISTRIES"] = registry.Host });
            Assert.True(code == 0, log);

            var files = await ReadTarAsync(archive, ct);
            using var manifest = JsonDocument.Parse(files["manifest.json"]);
            var image = Assert.Single(manifest.RootElement.EnumerateArray());
            var tags = image.GetProperty("RepoTags").EnumerateArray().Select(t => t.GetString()).ToList();
            Assert.Contains("pyroscope-distributor:latest", tags);

            using var config = JsonDocument.Parse(files[image.GetProperty("Config").GetString()!]);
            var container = config.RootElement.GetProperty("config");
            Assert.Equal(["dotnet", "/app/Pyroscope.Distributor.dll"], container.GetProperty("Entrypoint").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal("1654", container.GetProperty("User").GetString()); // the base image's non-root APP_UID
            Assert.Equal("linux", config.RootElement.GetProperty("os").GetString());

            // Two layers: the base image's, then the published app.
            var layers = image.GetProperty("Layers").EnumerateArray().Select(l => l.GetString()!).ToList();
            Assert.Equal(2, layers.Count);
            Assert.Contains(BaseImageRegistry.MarkerFile, await EntryNamesAsync(files[layers[0]], ct));
            var app = await EntryNamesAsync(files[layers[1]], ct);
            Assert.Contains("app/Pyroscope.Distributor.dll", app);
            Assert.Contains("app/Pyroscope.Hosting.dll", app);
            Assert.Contains("app/Pyroscope.Distributor.runtimeconfig.json", app);
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    private static async Task<Dictionary<string, byte[]>> ReadTarAsync(string path, CancellationToken ct)
    {
        await using var file = File.OpenRead(path);
        return await ReadTarAsync(file, ct);
    }

    private static async Task<Dictionary<string, byte[]>> ReadTarAsync(Stream stream, CancellationToken ct)
    {
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        await using var reader = new TarReader(stream);
        while (await reader.GetNextEntryAsync(cancellationToken: ct) is { } entry)
        {
            if (entry.DataStream is null)
            {
                continue;
            }
            using var data = new MemoryStream();
            await entry.DataStream.CopyToAsync(data, ct);
            files[entry.Name.TrimStart('.', '/')] = data.ToArray();
        }
        return files;
    }

    private static async Task<HashSet<string>> EntryNamesAsync(byte[] layer, CancellationToken ct)
    {
        Stream stream = new MemoryStream(layer);
        if (layer is [0x1f, 0x8b, ..])
        {
            stream = new System.IO.Compression.GZipStream(stream, System.IO.Compression.CompressionMode.Decompress);
        }
        await using (stream)
        {
            return [.. (await ReadTarAsync(stream, ct)).Keys];
        }
    }
}
