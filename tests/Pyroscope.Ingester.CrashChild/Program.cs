using System.IO.Compression;
using Pyroscope.Contracts.Google.V1;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Contracts.Types.V1;
using Pyroscope.Ingester;
using Pyroscope.Storage;
using Pyroscope.Storage.ObjectStore;

// Usage: CrashChild <dataDir> <storeDir> <pprofFile> <firstId> <timestampMs>
var dataDir = args[0];
var store = new FileSystemObjectStore(args[1]);
var profile = Decode(args[2]);
var next = long.Parse(args[3]);
var timestamp = long.Parse(args[4]);
var engine = new IngesterEngine(new PyroscopeDbOptions { DataPath = dataDir, WalFsync = true }, new IngesterOptions(), store);
await engine.StartAsync(CancellationToken.None);
Console.WriteLine("ready");
Console.Out.Flush();
while (true)
{
    var id = next++;
    var series = new ProfileSeries { Profile = profile, Id = "crash-" + id };
    series.Labels.Add(new LabelPair { Name = "__profile_type__", Value = "process_cpu:cpu:nanoseconds:cpu:nanoseconds" });
    series.Labels.Add(new LabelPair { Name = "service_name", Value = "crash" });
    profile.TimeNanos = (timestamp + id) * 1_000_000;
    var request = new PushRequest();
    request.Series.Add(series.Clone());
    await engine.PushAsync("crash-tenant", request, CancellationToken.None);
    Console.WriteLine("ack " + id);
    Console.Out.Flush();
    if (id % 17 == 0)
    {
        // Exercise cut → local block → WAL checkpoint → upload while the parent may kill us anywhere.
        engine.Cut();
        await engine.FlushPendingAsync(CancellationToken.None);
        await engine.UploadPendingAsync(CancellationToken.None);
    }
}

static Profile Decode(string path)
{
    var bytes = File.ReadAllBytes(path);
    if (bytes[0] == 0x1f && bytes[1] == 0x8b)
    {
        using var gzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
        using var plain = new MemoryStream();
        gzip.CopyTo(plain);
        bytes = plain.ToArray();
    }
    var p = Profile.Parser.ParseFrom(bytes);
    // Keep the first sample type only: the engine stores single-type profiles.
    foreach (var s in p.Sample)
    {
        var v = s.Value[^1];
        s.Value.Clear();
        s.Value.Add(v);
    }
    var t = p.SampleType[^1];
    p.SampleType.Clear();
    p.SampleType.Add(t);
    return p;
}
