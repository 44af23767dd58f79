using Google.Protobuf.Collections;
using Pyroscope.Contracts.Google.V1;
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
    public static string Str(RepeatedField<string> strings, long index) =>
        index >= 0 && index < strings.Count ? strings[(int)index] : throw Malformed($"string index {index} out of range (string table has {strings.Count} entries)");

    public static ProfileValidationException Malformed(string what) => new(DiscardReasons.MalformedProfile, "malformed profile: " + what);

    public static void Validate(Profile profile, Dictionary<string, string> labels, TenantLimits limits, NormalizeContext context)
    {
        if (limits.MaxProfileSizeBytes > 0 && context.DecompressedSize > limits.MaxProfileSizeBytes)
        {
            throw new ProfileValidationException(DiscardReasons.ProfileSizeLimit,
                $"the profile with labels '{Format(labels)}' exceeds the size limit (max_profile_size_bytes, actual: {context.DecompressedSize}, limit: {limits.MaxProfileSizeBytes})");
        }
        if (limits.MaxProfileStacktraceSamples > 0 && profile.Sample.Count > limits.MaxProfileStacktraceSamples)
        {
            throw new ProfileValidationException(DiscardReasons.SamplesLimit,
                $"the profile with labels '{Format(labels)}' exceeds the samples count limit (max_profile_stacktrace_samples, actual: {profile.Sample.Count}, limit: {limits.MaxProfileStacktraceSamples})");
        }
        if (profile.StringTable.Count == 0 || profile.StringTable[0].Length != 0)
        {
            throw Malformed("string table must start with the empty string");
        }
        if (profile.SampleType.Count == 0)
        {
            throw Malformed("no sample types");
        }
        foreach (var sampleType in profile.SampleType)
        {
            if (Str(profile.StringTable, sampleType.Type).Contains('-'))
            {
                throw Malformed($"sample type \"{profile.StringTable[(int)sampleType.Type]}\" contains '-'");
            }
            _ = Str(profile.StringTable, sampleType.Unit);
        }
        var functionIds = new HashSet<ulong>();
        for (var functionIndex = 0; functionIndex < profile.Function.Count; functionIndex++)
        {
            var function = profile.Function[functionIndex];
            if (function.Id == 0)
            {
                throw Malformed("function id is 0");
            }
            _ = Str(profile.StringTable, function.Name);
            functionIds.Add(function.Id);
        }
        var locationIds = new HashSet<ulong>();
        for (var locationIndex = 0; locationIndex < profile.Location.Count; locationIndex++)
        {
            var location = profile.Location[locationIndex];
            if (location.Id == 0)
            {
                throw Malformed("location id is 0");
            }
            locationIds.Add(location.Id);
            // The ingester resolves every line's function; an unknown one must be refused here, before any
            // series of the push is stored, not half-way through the ingester's append.
            for (var lineIndex = 0; lineIndex < location.Line.Count; lineIndex++)
            {
                var functionId = location.Line[lineIndex].FunctionId;
                if (!functionIds.Contains(functionId))
                {
                    throw Malformed($"location {location.Id} references unknown function id {functionId}");
                }
            }
        }
        var valueCount = profile.SampleType.Count;
        for (var sampleIndex = 0; sampleIndex < profile.Sample.Count; sampleIndex++)
        {
            var sample = profile.Sample[sampleIndex];
            if (limits.MaxProfileStacktraceSampleLabels > 0 && sample.Label.Count > limits.MaxProfileStacktraceSampleLabels)
            {
                throw new ProfileValidationException(DiscardReasons.SampleLabelsLimit,
                    $"the profile with labels '{Format(labels)}' exceeds the sample labels limit (max_profile_stacktrace_sample_labels, actual: {sample.Label.Count}, limit: {limits.MaxProfileStacktraceSampleLabels})");
            }
            if (sample.Value.Count != valueCount)
            {
                throw Malformed($"a sample has {sample.Value.Count} values but the profile declares {valueCount} sample types");
            }
            for (var idIndex = 0; idIndex < sample.LocationId.Count; idIndex++)
            {
                var id = sample.LocationId[idIndex];
                if (!locationIds.Contains(id))
                {
                    throw Malformed($"a sample references unknown location id {id}");
                }
            }
            for (var labelIndex = 0; labelIndex < sample.Label.Count; labelIndex++)
            {
                var label = sample.Label[labelIndex];
                _ = Str(profile.StringTable, label.Key);
                _ = Str(profile.StringTable, label.Str);
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
