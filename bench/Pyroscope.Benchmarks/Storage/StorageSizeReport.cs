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
        var block = BlockWriter.Encode(head.Tables, "bench", head.BlockId, 1, []);
        var stored = block.Index.Length + block.Symbols.Length + block.Samples.Length + block.Meta.ToJson().Length;
        Console.WriteLine($"go-cpu x240 (varied): input gzip {inputGzip} B, {samples} samples; block {stored} B " +
            $"(index {block.Index.Length}, symbols {block.Symbols.Length}, samples {block.Samples.Length}); " +
            $"{(double)stored / samples:F3} B/sample, {(double)stored / inputGzip:P1} of gzipped input");
    }
}
