using Pyroscope.LoadTest.Analysis;

namespace Pyroscope.LoadTest.Tests;

/// <summary>Stacks of the monolith's write path land in the stage that does the work, not the library it calls.</summary>
public sealed class StageRuleTests
{
    [Theory]
    [InlineData("Pyroscope.Storage.Ingestion.IngesterEngine.EncodeRecord;ZstdSharp.Compressor.Wrap;ZstdSharp.Unsafe.Methods.ZSTD_compressBlock", "WAL compress (zstd)")]
    [InlineData("Pyroscope.Storage.Ingestion.IngesterEngine.EncodeRecord;Pyroscope.Contracts.Google.V1.Sample.CalculateSize", "WAL record encode (protobuf re-serialise)")]
    [InlineData("Pyroscope.Formats.Pprof.PprofDecoder.Decode;Pyroscope.Contracts.Google.V1.Profile.MergeFrom;Google.Protobuf.CodedInputStream.ReadTag", "pprof decode (protobuf object model)")]
    [InlineData("Pyroscope.Formats.Pprof.PprofDecoder.Decode;Pyroscope.Formats.Pprof.BoundedGzip.Decompress;System.IO.Compression.Inflater.Inflate", "gunzip (zlib)")]
    [InlineData("Pyroscope.Formats.Normalization.ProfileNormalizer.Normalize;System.Collections.Generic.Dictionary`2.FindValue", "normalise")]
    [InlineData("Pyroscope.Storage.Ingestion.IngesterEngine.AppendToHead;Pyroscope.Storage.Head.TenantHead.Append;System.Threading.Thread.<PollGC>g__PollGCWorker", StageRule.GcSuspension)]
    [InlineData("System.Threading.PortableThreadPool+WorkerThread.WorkerThreadStart;System.Threading.LowLevelLifoSemaphore.Wait", StageRule.Idle)]
    [InlineData("System.Threading.ThreadPoolWorkQueue.Dispatch;Microsoft.AspNetCore.Server.Kestrel.Core.Internal.Http.HttpParser.ParseHeaders", "Kestrel / sockets / pipelines")]
    [InlineData("Pyroscope.Profiler.Collection.SamplingSlice.Process;System.IO.Compression.Deflater.Deflate", StageRule.Profiler)]
    [InlineData("Some.Unknown.Frame", StageRule.Other)]
    public void AStackGoesToTheStageOfTheFrameNearestItsLeaf(string stack, string stage)
    {
        var stacks = CollapsedStacks.Parse(stack + " 7\n");
        var (name, value, _) = Assert.Single(stacks.ByStage(StageRule.WritePath));
        Assert.Equal(stage, name);
        Assert.Equal(7, value);
    }

    [Fact]
    public void SelfAndTotalCountEachStackOnce()
    {
        var stacks = CollapsedStacks.Parse("a;b;a 3\na;c 2\nbad line\nb 1\n");
        Assert.Equal(6, stacks.Total);
        Assert.Equal(("a", 3L), stacks.TopSelf(1)[0]);
        Assert.Equal(new[] { ("a", 5L), ("b", 4L), ("c", 2L) }, stacks.TopTotal(3));
    }
}
