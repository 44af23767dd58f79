using Google.Protobuf;
using Pyroscope.Contracts.Google.V1;
using Pyroscope.Testing;

namespace Pyroscope.IntegrationTests.Hostile;

/// <summary>
/// A real monolith holding a little current data (a Go CPU profile with pprof labels, folded stacks), so that
/// generated queries read something. Default limits, except that the fixtures' old timestamps are let in.
/// </summary>
public sealed class SeededMonolith : IAsyncLifetime
{
    public PyroscopeProcess Server { get; private set; } = null!;

    public long DataMs { get; } = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 60_000;

    public async ValueTask InitializeAsync()
    {
        Server = await PyroscopeProcess.StartMonolithAsync();
        var ct = TestContext.Current.CancellationToken;
        var profile = Profile.Parser.ParseFrom(Fuzzing.DecompressIfGzip(File.ReadAllBytes(RepositoryPaths.Fixture("go/go-cpu.pb.gz"))));
        profile.TimeNanos = DataMs * 1_000_000;
        using (var response = await Server.Http.PostAsync("/ingest?name=go-app{env=prod}&format=pprof&spyName=gospy", new ByteArrayContent(profile.ToByteArray()), ct))
        {
            response.EnsureSuccessStatusCode();
        }
        var from = DataMs / 1000;
        using (var response = await Server.Http.PostAsync($"/ingest?name=probe.cpu{{env=staging}}&from={from}&until={from + 10}",
            new ByteArrayContent(File.ReadAllBytes(RepositoryPaths.Fixture("folded/go-cpu-nanoseconds.folded"))), ct))
        {
            response.EnsureSuccessStatusCode();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }
    }
}

internal static class Fuzzing
{
    public static byte[] DecompressIfGzip(byte[] bytes)
    {
        if (bytes.Length < 2 || bytes[0] != 0x1f || bytes[1] != 0x8b)
        {
            return bytes;
        }
        using var gzip = new System.IO.Compression.GZipStream(new MemoryStream(bytes), System.IO.Compression.CompressionMode.Decompress);
        using var plain = new MemoryStream();
        gzip.CopyTo(plain);
        return plain.ToArray();
    }
}
