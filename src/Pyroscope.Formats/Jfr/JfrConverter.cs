namespace Pyroscope.Formats.Jfr;

/// <summary>
/// Converts a JFR recording (JDK Flight Recorder or async-profiler, one or more chunks, not compressed: the
/// ingest payload gunzips it first) into pprof profiles the way upstream Pyroscope's JFR ingestion does.
/// </summary>
public static class JfrConverter
{
    /// <param name="jfr">The uncompressed recording.</param>
    /// <param name="labelsSnapshot">The uncompressed <c>LabelsSnapshot</c> protobuf, or empty.</param>
    /// <exception cref="JfrFormatException">The recording or snapshot is malformed or truncated.</exception>
    public static JfrConversion Convert(ReadOnlySpan<byte> jfr, ReadOnlySpan<byte> labelsSnapshot, JfrConvertOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var labels = labelsSnapshot.IsEmpty ? JfrLabelsSnapshot.Empty : JfrLabelsSnapshot.Parse(labelsSnapshot);
        return Convert(jfr, labels, options);
    }

    public static JfrConversion Convert(ReadOnlySpan<byte> jfr, JfrLabelsSnapshot labelsSnapshot, JfrConvertOptions options)
    {
        ArgumentNullException.ThrowIfNull(labelsSnapshot);
        ArgumentNullException.ThrowIfNull(options);
        using var pools = new JfrConstantPools();
        using var accumulator = new JfrProfileAccumulator(labelsSnapshot, options);
        JfrChunkParser.Parse(jfr, pools, accumulator);
        return accumulator.Build();
    }
}
