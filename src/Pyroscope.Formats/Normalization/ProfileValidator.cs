using Pyroscope.Model.Ingest;
using Pyroscope.Model;
using Label = Pyroscope.Model.Label;

namespace Pyroscope.Formats.Normalization;

/// <summary>
/// Upstream's checks of one pprof before it is split into series: per-tenant limits (size, samples, labels
/// per sample, ingestion window; refused naming the limit and value) and structure (every index a sample,
/// location or label uses points at something), so that nothing after it trips over a bad index.
/// </summary>
internal static class ProfileValidator
{
    public static string Str(PprofStrings strings, long index) =>
        index >= 0 && index < strings.Count ? strings[(int)index] : throw Malformed($"string index {index} out of range (string table has {strings.Count} entries)");

    private static void CheckStr(PprofStrings strings, long index)
    {
        if (index < 0 || index >= strings.Count)
        {
            throw Malformed($"string index {index} out of range (string table has {strings.Count} entries)");
        }
    }

    public static ProfileValidationException Malformed(string what) => new(DiscardReasons.MalformedProfile, "malformed profile: " + what);

    public static void Validate(PprofProfile profile, Dictionary<string, string> labels, TenantLimits limits, NormalizeContext context)
    {
        if (limits.MaxProfileSizeBytes > 0 && context.DecompressedSize > limits.MaxProfileSizeBytes)
        {
            throw new ProfileValidationException(DiscardReasons.ProfileSizeLimit,
                $"the profile with labels '{Format(labels)}' exceeds the size limit (max_profile_size_bytes, actual: {context.DecompressedSize}, limit: {limits.MaxProfileSizeBytes})");
        }
        if (limits.MaxProfileStacktraceSamples > 0 && profile.Samples.Count > limits.MaxProfileStacktraceSamples)
        {
            throw new ProfileValidationException(DiscardReasons.SamplesLimit,
                $"the profile with labels '{Format(labels)}' exceeds the samples count limit (max_profile_stacktrace_samples, actual: {profile.Samples.Count}, limit: {limits.MaxProfileStacktraceSamples})");
        }
        var strings = profile.Strings;
        if (strings.Count == 0 || !strings.IsEmpty(0))
        {
            throw Malformed("string table must start with the empty string");
        }
        if (profile.SampleTypes.Count == 0)
        {
            throw Malformed("no sample types");
        }
        foreach (var sampleType in profile.SampleTypes.Span)
        {
            if (Str(strings, sampleType.Type).Contains('-'))
            {
                throw Malformed($"sample type \"{strings[(int)sampleType.Type]}\" contains '-'");
            }
            CheckStr(strings, sampleType.Unit);
        }
        var functions = SymbolIndex.Of(profile.Functions.Span, static (in PprofFunction f) => f.Id);
        try
        {
            foreach (ref readonly var function in profile.Functions.Span)
            {
                if (function.Id == 0)
                {
                    throw Malformed("function id is 0");
                }
                CheckStr(strings, function.Name);
            }
            var locations = SymbolIndex.Of(profile.Locations.Span, static (in PprofLocation l) => l.Id);
            try
            {
                foreach (ref readonly var location in profile.Locations.Span)
                {
                    if (location.Id == 0)
                    {
                        throw Malformed("location id is 0");
                    }
                    // The ingester resolves every line's function; an unknown one must be refused here, before any
                    // series of the push is stored, not half-way through the ingester's append.
                    foreach (ref readonly var line in profile.LinesOf(location))
                    {
                        if (functions.Find(line.FunctionId) < 0)
                        {
                            throw Malformed($"location {location.Id} references unknown function id {line.FunctionId}");
                        }
                    }
                }
                ValidateSamples(profile, labels, limits, locations);
            }
            finally
            {
                locations.Dispose();
            }
        }
        finally
        {
            functions.Dispose();
        }
    }

    private static void ValidateSamples(PprofProfile profile, Dictionary<string, string> labels, TenantLimits limits, SymbolIndex locations)
    {
        var strings = profile.Strings;
        var valueCount = profile.SampleTypes.Count;
        foreach (ref readonly var sample in profile.Samples.Span)
        {
            if (limits.MaxProfileStacktraceSampleLabels > 0 && sample.LabelCount > limits.MaxProfileStacktraceSampleLabels)
            {
                throw new ProfileValidationException(DiscardReasons.SampleLabelsLimit,
                    $"the profile with labels '{Format(labels)}' exceeds the sample labels limit (max_profile_stacktrace_sample_labels, actual: {sample.LabelCount}, limit: {limits.MaxProfileStacktraceSampleLabels})");
            }
            if (sample.ValueCount != valueCount)
            {
                throw Malformed($"a sample has {sample.ValueCount} values but the profile declares {valueCount} sample types");
            }
            foreach (var id in profile.LocationIdsOf(sample))
            {
                if (locations.Find(id) < 0)
                {
                    throw Malformed($"a sample references unknown location id {id}");
                }
            }
            foreach (ref readonly var label in profile.LabelsOf(sample))
            {
                CheckStr(strings, label.Key);
                CheckStr(strings, label.Str);
            }
        }
    }

    public static void CheckIngestionWindow(long timeNanos, Dictionary<string, string> labels, TenantLimits limits, long nowNanos)
    {
        var start = limits.RejectOlderThan > TimeSpan.Zero ? Saturating.Add(nowNanos, -Nanos(limits.RejectOlderThan)) : long.MinValue;
        var end = limits.RejectNewerThan > TimeSpan.Zero ? Saturating.Add(nowNanos, Nanos(limits.RejectNewerThan)) : long.MaxValue;
        if (timeNanos < start || timeNanos > end)
        {
            throw new ProfileValidationException(DiscardReasons.NotInIngestionWindow,
                $"profile with labels '{Format(labels)}' is outside of ingestion window (profile timestamp: {Iso(timeNanos)}, the ingestion window (start: {(start == long.MinValue ? "-" : Iso(start))}, end: {(end == long.MaxValue ? "-" : Iso(end))}) set by reject_older_than / reject_newer_than)");
        }
    }

    private static long Nanos(TimeSpan span) => span.Ticks > long.MaxValue / 100 ? long.MaxValue : span.Ticks * 100;

    private static string Iso(long nanos) => DateTime.UnixEpoch.AddTicks(nanos / 100).ToString("yyyy-MM-ddTHH:mm:ss.fffZ");

    public static string Format(Dictionary<string, string> labels)
    {
        var list = new List<Label>(labels.Count);
        foreach (var (k, v) in labels)
        {
            list.Add(new Label(k, v));
        }
        list.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        return SeriesLabelValidator.Format(list);
    }
}
