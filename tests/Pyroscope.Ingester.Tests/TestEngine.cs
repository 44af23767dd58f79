using Pyroscope.Storage;
using Pyroscope.Storage.ObjectStore;

namespace Pyroscope.Ingester.Tests;

/// <summary>Opens an ingester engine as its hosted service does: constructed, then started (WAL opened and replayed).</summary>
public static class TestEngine
{
    public static PyroscopeDbOptions Options(string dir) => new()
    {
        DataPath = dir,
        MaxBlockDuration = TimeSpan.FromHours(1),
        LocalRetentionAfterUpload = TimeSpan.FromMinutes(2),
    };

    public static async Task<IngesterEngine> OpenAsync(string dir, IObjectStore? store, TimeProvider time)
    {
        var engine = new IngesterEngine(Options(dir), new IngesterOptions(), store, time);
        await engine.StartAsync(CancellationToken.None);
        return engine;
    }
}
