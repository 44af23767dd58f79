using Google.Protobuf;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Formats.Normalization;
using Pyroscope.Formats.Pprof;
using Pyroscope.Model;
using Pyroscope.Model.Ingest;

namespace Pyroscope.Ingester.Tests;

/// <summary>
/// Fixture series as a distributor in the same process hands them over: each series' single-type profile encoded
/// as received pprof, read and normalised by the product's normaliser with the series' service name and metric name.
/// </summary>
internal static class ReceivedPushes
{
    private static readonly TenantLimits NoLimits = new()
    {
        MaxLabelNamesPerSeries = 0,
        MaxProfileSizeBytes = 0,
        MaxProfileStacktraceSamples = 0,
        MaxProfileStacktraceDepth = 0,
        MaxProfileSymbolValueLength = 0,
        RejectOlderThan = TimeSpan.Zero,
        RejectNewerThan = TimeSpan.Zero,
    };

    public static PushContext NewContext(int maxStackDepth = 0, int maxSymbolLength = 0) =>
        new((DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100, 0, maxStackDepth, maxSymbolLength, ProfileNormalizer.NewIdSeed());

    /// <param name="gzip">Send the payloads gzipped, as agents do.</param>
    public static IngestPush Of(PushRequest request, PushContext? pushContext = null, bool gzip = false)
    {
        var context = pushContext ?? NewContext();
        var limits = NoLimits with { MaxProfileStacktraceDepth = context.MaxStackDepth, MaxProfileSymbolValueLength = context.MaxSymbolLength };
        var profiles = new List<PushedProfile>();
        var push = new IngestPush(context, profiles);
        var series = 0;
        foreach (var one in request.Series)
        {
            var bytes = gzip ? Gzip(one.Profile.ToByteArray()) : one.Profile.ToByteArray();
            var labels = one.Labels.Where(l => l.Name is LabelNames.ServiceName or LabelNames.MetricName).Select(l => new Label(l.Name, l.Value)).ToList();
            var parsed = PprofReader.Read(bytes, long.MaxValue, "fixture", out var size);
            var normalized = ProfileNormalizer.Normalize(parsed, labels, limits,
                new NormalizeContext(context.NowNanos, 0, size) { SeriesSoFar = series, IdSeed = context.IdSeed });
            profiles.Add(new PushedProfile(labels, bytes, PprofFixups.None, normalized));
            series += normalized.Series.Count;
        }
        return push;
    }

    private static byte[] Gzip(byte[] raw)
    {
        using var output = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(output, System.IO.Compression.CompressionLevel.Optimal))
        {
            gzip.Write(raw);
        }
        return output.ToArray();
    }
}
