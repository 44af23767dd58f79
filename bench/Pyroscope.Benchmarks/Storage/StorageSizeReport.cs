using Pyroscope.Storage.Blocks;
using Pyroscope.Storage.Head;

namespace Pyroscope.Benchmarks.Storage;

/// <summary><c>dotnet run -c Release --project bench/Pyroscope.Benchmarks -- storage-size</c>: bytes on disk per sample and per input byte.</summary>
public static class StorageSizeReport
{
    public static void Run()
    {
        var head = new TenantHead("bench", Ulid.NewUlid());
        var template = StorageBenchData.GoCpuSeries("x", 0);
        var random = new Random(1);
        long inputGzip = 0, samples = 0;
        for (var i = 0; i < 240; i++)
        {
            var s = template.Clone();
            s.Id = "p" + i;
            s.Profile.TimeNanos = (1_700_000_000_000 + i * 15_000L) * 1_000_000;
            for (var j = s.Profile.Sample.Count - 1; j >= 0; j--)
            {
                if (random.NextDouble() < 0.2)
                {
                    s.Profile.Sample.RemoveAt(j);
                }
                else
                {
                    s.Profile.Sample[j].Value[0] = (long)(s.Profile.Sample[j].Value[0] * (0.5 + random.NextDouble()));
                }
            }
            samples += s.Profile.Sample.Count;
            using var gz = new MemoryStream();
            using (var z = new System.IO.Compression.GZipStream(gz, System.IO.Compression.CompressionLevel.Optimal, true))
            {
                Google.Protobuf.MessageExtensions.WriteTo(s.Profile, z);
            }
            inputGzip += gz.Length;
            head.Append(s, 0);
        }
        // Wall-clock append rate in a steady stream (symbols already interned), best of 5 rounds.
        var best = double.MaxValue;
        var steady = new List<Pyroscope.Contracts.Ingester.V1.ProfileSeries>();
        for (var i = 0; i < 200; i++)
        {
            var s = template.Clone();
            s.Id = "steady" + i;
            steady.Add(s);
        }
        for (var round = 0; round < 5; round++)
        {
            var h = new TenantHead("rate", Ulid.NewUlid());
            h.Append(template, 0);
            var watch = System.Diagnostics.Stopwatch.StartNew();
            foreach (var s in steady)
            {
                h.Append(s, 0);
            }
            best = Math.Min(best, watch.Elapsed.TotalMicroseconds / steady.Count);
        }
        Console.WriteLine($"head append: {best:F1} us per go-cpu profile ({template.Profile.Sample.Count} samples) = {template.Profile.Sample.Count / best:F2} M samples/s on one thread");
        var block = BlockWriter.Encode(head.Tables, "bench", head.BlockId, 1, []);
        var stored = block.Index.Length + block.Symbols.Length + block.Samples.Length + block.Meta.ToJson().Length;
        Console.WriteLine($"go-cpu x240 (varied): input gzip {inputGzip} B, {samples} samples; block {stored} B " +
            $"(index {block.Index.Length}, symbols {block.Symbols.Length}, samples {block.Samples.Length}); " +
            $"{(double)stored / samples:F3} B/sample, {(double)stored / inputGzip:P1} of gzipped input");
    }
}
