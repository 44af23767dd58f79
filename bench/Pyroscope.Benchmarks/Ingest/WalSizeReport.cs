using System.IO.Compression;
using Google.Protobuf;
using Pyroscope.Contracts.Google.V1;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Formats.Ingest;
using Pyroscope.Formats.Normalization;
using Pyroscope.LoadTest.Workload;
using Pyroscope.Model;

namespace Pyroscope.Benchmarks.Ingest;

/// <summary>
/// `wal-size`: what the WAL writes per received byte today — the normalised push request as the ingester's record
/// encoder serialises it, zstd level 1 — against the gzipped bytes received and against zstd-1 of the raw pprof,
/// for each real fixture and the load test's 4 MB eBPF profile. Issue 13's goal: WAL bytes ≤ gzipped bytes received.
/// </summary>
public static class WalSizeReport
{
    private const long Now = WritePathStageBenchmarks.Now;

    public static void Run()
    {
        var fixtures = Storage.StorageBenchData.FixturesDirectory();
        var inputs = new List<(string Name, byte[] Gzipped)>();
        foreach (var path in new[] { "go/go-cpu.pb.gz", "go/go-heap.pb.gz", "go/go-goroutine.pb.gz", "nodejs/nodejs-001.pb.gz", "datadog/ddpprof-wall-cpu.pb.gz" })
        {
            inputs.Add((path, File.ReadAllBytes(Path.Combine(fixtures, path))));
        }
        inputs.Add(("ebpf (load test, generated)", Gzip(EbpfProfileGenerator.Generate(new EbpfProfileGenerator.Shape(), Now).ToByteArray())));

        Console.WriteLine("| profile | gzipped | raw pprof | series | record (protobuf) | record, zstd-1 | ÷ gzipped | raw pprof, zstd-1 | ÷ gzipped |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        using var compressor = new ZstdSharp.Compressor(1);
        foreach (var (name, gzipped) in inputs)
        {
            var query = System.Web.HttpUtility.ParseQueryString("name=svc{pod=a}&format=pprof&spyName=gospy");
            var metadata = IngestMetadata.Parse(key => query[key], Now);
            var request = new PushRequest();
            var raw = 0;
            foreach (var profile in IngestFormatRegistry.BuiltIn.Decode(metadata, null, gzipped, long.MaxValue))
            {
                raw += profile.DecompressedSize;
                request.Series.AddRange(ProfileNormalizer.Normalize(profile.Profile, profile.Labels, TenantLimits.Unlimited,
                    new NormalizeContext(Now, 0, profile.DecompressedSize)));
            }
            var record = request.ToByteArray();
            var recordZstd = compressor.Wrap(record).Length;
            var rawZstd = compressor.Wrap(Gunzip(gzipped)).Length;
            Console.WriteLine($"| {name} | {gzipped.Length:N0} | {raw:N0} | {request.Series.Count} | {record.Length:N0} | {recordZstd:N0} | {(double)recordZstd / gzipped.Length:F2} | {rawZstd:N0} | {(double)rawZstd / gzipped.Length:F2} |");
        }
    }

    private static byte[] Gzip(byte[] raw)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(raw);
        }
        return output.ToArray();
    }

    private static byte[] Gunzip(byte[] gzipped)
    {
        using var gzip = new GZipStream(new MemoryStream(gzipped), CompressionMode.Decompress);
        using var plain = new MemoryStream();
        gzip.CopyTo(plain);
        return plain.ToArray();
    }
}
