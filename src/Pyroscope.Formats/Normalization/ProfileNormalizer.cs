using Google.Protobuf.Collections;
using Pyroscope.Contracts.Google.V1;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Contracts.Types.V1;
using Pyroscope.Model;
using ValueType = Pyroscope.Contracts.Google.V1.ValueType;
using Label = Pyroscope.Model.Label;

namespace Pyroscope.Formats.Normalization;

/// <summary>What the normaliser needs besides the profile and its labels.</summary>
public readonly record struct NormalizeContext(long NowNanos, long FallbackTimeNanos, int DecompressedSize);

/// <summary>
/// pprof + series labels → one <see cref="ProfileSeries"/> per (sample-label group × sample type), as
/// upstream's distributor (validate, normalise, split by sample labels) and ingester (one series per
/// sample type with __profile_type__ &amp; co.) do together:
/// <list type="bullet">
/// <item>limits: profile size, sample count, labels per sample (refused, naming limit and value);
/// stack depth and symbol length (truncated);</item>
/// <item>pprof string labels split the profile into series (series labels win on conflicts), except
/// span_id / trace_id (profile_id is renamed span_id) which stay on the samples;</item>
/// <item>Go profiles: generic shapes in function names become <c>[...]</c> (<see cref="GoTypeParameterFix"/>);</item>
/// <item>per sample type: zero values dropped, identical stacks merged, shared symbol tables.</item>
/// </list>
/// The returned messages share Location/Function/Mapping instances with the input: treat them as read-only.
/// </summary>
public static class ProfileNormalizer
{
    public const string TraceIdLabel = "trace_id";

    public static List<ProfileSeries> Normalize(Profile profile, IEnumerable<Label> seriesLabels, NormalizationLimits limits, NormalizeContext context)
    {
        var baseLabels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var label in seriesLabels)
        {
            if (label.Value.Length > 0)
            {
                baseLabels[label.Name] = label.Value;
            }
        }
        if (!baseLabels.ContainsKey(LabelNames.ServiceName))
        {
            baseLabels[LabelNames.ServiceName] = "unspecified";
        }
        var strings = profile.StringTable;
        ValidateProfile(profile, baseLabels, limits, context);
        if (GoTypeParameterFix.AppliesTo(baseLabels.GetValueOrDefault(LabelNames.Spy), profile))
        {
            GoTypeParameterFix.Apply(profile);
        }

        var timeNanos = profile.TimeNanos;
        if (timeNanos <= 0 || timeNanos < 31_536_000_000_000_000L)
        {
            // Zero, or a 1970 date from clients that sent microseconds: use the request's start time.
            timeNanos = context.FallbackTimeNanos > 0 ? context.FallbackTimeNanos : context.NowNanos;
        }
        CheckIngestionWindow(timeNanos, baseLabels, limits, context.NowNanos);

        if (limits.MaxProfileSymbolValueLength > 0)
        {
            for (var i = 0; i < strings.Count; i++)
            {
                if (strings[i].Length > limits.MaxProfileSymbolValueLength)
                {
                    // Upstream keeps the end of the symbol: the most specific part of a qualified name.
                    strings[i] = strings[i][^limits.MaxProfileSymbolValueLength..];
                }
            }
        }

        var groups = GroupBySampleLabels(profile);
        var result = new List<ProfileSeries>(profile.SampleType.Count * groups.Count);
        var periodType = profile.PeriodType is { } pt ? (Str(strings, pt.Type), Str(strings, pt.Unit)) : ("", "");
        var metricName = baseLabels.GetValueOrDefault(LabelNames.MetricName, "");
        foreach (var group in groups)
        {
            var labels = new List<Label>(baseLabels.Count + group.Labels.Count + 6);
            foreach (var (name, value) in baseLabels)
            {
                labels.Add(new Label(name, value));
            }
            foreach (var (name, value) in group.Labels)
            {
                if (!baseLabels.ContainsKey(name) && value.Length > 0)
                {
                    labels.Add(new Label(name, value));
                }
            }
            labels.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
            SeriesLabelValidator.Validate(labels, limits);

            for (var t = 0; t < profile.SampleType.Count; t++)
            {
                var output = Project(profile, group.Samples, t, limits.MaxProfileStacktraceDepth, timeNanos);
                if (output is null)
                {
                    continue;
                }
                var type = new ProfileTypeId(metricName, Str(strings, profile.SampleType[t].Type), Str(strings, profile.SampleType[t].Unit), periodType.Item1, periodType.Item2);
                var typed = new List<Label>(labels.Count + 6);
                typed.AddRange(labels);
                foreach (var l in type.SeriesLabels())
                {
                    if (l.Value.Length > 0)
                    {
                        typed.Add(l);
                    }
                }
                var set = LabelSet.From(typed);
                var series = new ProfileSeries
                {
                    Profile = output,
                    Id = Guid.NewGuid().ToString(),
                    Fingerprint = set.Fingerprint,
                };
                foreach (var l in set.Labels)
                {
                    series.Labels.Add(new LabelPair { Name = l.Name, Value = l.Value });
                }
                result.Add(series);
            }
        }
        return result;
    }

    private static string Str(RepeatedField<string> strings, long index) =>
        index >= 0 && index < strings.Count ? strings[(int)index] : throw Malformed($"string index {index} out of range (string table has {strings.Count} entries)");

    private static ProfileValidationException Malformed(string what) => new(DiscardReasons.MalformedProfile, "malformed profile: " + what);

    private static void ValidateProfile(Profile profile, Dictionary<string, string> labels, NormalizationLimits limits, NormalizeContext context)
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

    private static void CheckIngestionWindow(long timeNanos, Dictionary<string, string> labels, NormalizationLimits limits, long nowNanos)
    {
        var start = limits.RejectOlderThan > TimeSpan.Zero ? nowNanos - limits.RejectOlderThan.Ticks * 100 : long.MinValue;
        var end = limits.RejectNewerThan > TimeSpan.Zero ? nowNanos + limits.RejectNewerThan.Ticks * 100 : long.MaxValue;
        if (timeNanos < start || timeNanos > end)
        {
            throw new ProfileValidationException(DiscardReasons.NotInIngestionWindow,
                $"profile with labels '{Format(labels)}' is outside of ingestion window (profile timestamp: {Iso(timeNanos)}, the ingestion window (start: {(start == long.MinValue ? "-" : Iso(start))}, end: {(end == long.MaxValue ? "-" : Iso(end))}) set by reject_older_than / reject_newer_than)");
        }
    }

    private static string Iso(long nanos) => DateTime.UnixEpoch.AddTicks(nanos / 100).ToString("yyyy-MM-ddTHH:mm:ss.fffZ");

    private static string Format(Dictionary<string, string> labels)
    {
        var list = new List<Label>(labels.Count);
        foreach (var (k, v) in labels)
        {
            list.Add(new Label(k, v));
        }
        list.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        return SeriesLabelValidator.Format(list);
    }

    private sealed class SampleGroup(List<KeyValuePair<string, string>> labels)
    {
        public List<KeyValuePair<string, string>> Labels { get; } = labels;

        public List<Sample> Samples { get; } = [];
    }

    /// <summary>Groups samples by their string labels other than span_id/trace_id; one group when there are none.</summary>
    private static List<SampleGroup> GroupBySampleLabels(Profile profile)
    {
        var strings = profile.StringTable;
        long spanKey = -1, traceKey = -1, profileIdKey = -1;
        var anyLabels = false;
        for (var sampleIndex = 0; sampleIndex < profile.Sample.Count; sampleIndex++)
        {
            var sample = profile.Sample[sampleIndex];
            if (sample.Label.Count > 0)
            {
                anyLabels = true;
                break;
            }
        }
        if (!anyLabels)
        {
            var only = new SampleGroup([]);
            only.Samples.AddRange(profile.Sample);
            return [only];
        }
        for (var i = 0; i < strings.Count; i++)
        {
            switch (strings[i])
            {
                case LabelNames.SpanId: spanKey = i; break;
                case TraceIdLabel: traceKey = i; break;
                case LabelNames.ProfileId: profileIdKey = i; break;
            }
        }
        if (profileIdKey >= 0)
        {
            // Upstream renames profile_id to span_id before splitting.
            if (spanKey < 0)
            {
                spanKey = strings.Count;
                strings.Add(LabelNames.SpanId);
            }
            for (var sampleIndex = 0; sampleIndex < profile.Sample.Count; sampleIndex++)
            {
                var sample = profile.Sample[sampleIndex];
                for (var labelIndex = 0; labelIndex < sample.Label.Count; labelIndex++)
                {
                    var label = sample.Label[labelIndex];
                    if (label.Key == profileIdKey)
                    {
                        label.Key = spanKey;
                    }
                }
            }
        }

        var groups = new List<SampleGroup>();
        var byKey = new Dictionary<string, SampleGroup>(StringComparer.Ordinal);
        var pairs = new List<KeyValuePair<string, string>>(8);
        var key = new System.Text.StringBuilder();
        for (var sampleIndex = 0; sampleIndex < profile.Sample.Count; sampleIndex++)
        {
            var sample = profile.Sample[sampleIndex];
            pairs.Clear();
            for (var labelIndex = 0; labelIndex < sample.Label.Count; labelIndex++)
            {
                var label = sample.Label[labelIndex];
                if (label.Str <= 0 || label.Key == spanKey || label.Key == traceKey)
                {
                    continue; // numeric labels are not series labels; span/trace ids stay on the sample
                }
                var name = strings[(int)label.Key];
                var duplicate = false;
                foreach (var p in pairs)
                {
                    duplicate |= p.Key == name;
                }
                if (!duplicate)
                {
                    pairs.Add(new(name, strings[(int)label.Str]));
                }
            }
            SampleGroup? group;
            if (pairs.Count == 0)
            {
                if (!byKey.TryGetValue(string.Empty, out group))
                {
                    group = new SampleGroup([]);
                    byKey[string.Empty] = group;
                    groups.Add(group);
                }
            }
            else
            {
                pairs.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
                key.Clear();
                foreach (var (k, v) in pairs)
                {
                    key.Append(k).Append('\u0000').Append(v).Append('\u0001');
                }
                var keyText = key.ToString();
                if (!byKey.TryGetValue(keyText, out group))
                {
                    group = new SampleGroup([.. pairs]);
                    byKey[keyText] = group;
                    groups.Add(group);
                }
            }
            group.Samples.Add(sample);
        }
        return groups;
    }

    /// <summary>The samples of one group for one sample type, or null when none has a non-zero value.</summary>
    private static Profile? Project(Profile source, List<Sample> samples, int typeIndex, int maxDepth, long timeNanos)
    {
        var merged = new Dictionary<Sample, Sample>(SampleStackComparer.Instance);
        var output = new Profile();
        for (var sampleIndex = 0; sampleIndex < samples.Count; sampleIndex++)
        {
            var sample = samples[sampleIndex];
            var value = sample.Value[typeIndex];
            if (value == 0)
            {
                continue;
            }
            var projected = new Sample();
            var ids = sample.LocationId;
            var skip = maxDepth > 0 && ids.Count > maxDepth ? ids.Count - maxDepth : 0;
            projected.LocationId.Capacity = ids.Count - skip;
            for (var i = skip; i < ids.Count; i++)
            {
                // LocationId[0] is the leaf: dropping the first entries keeps the root-most frames.
                projected.LocationId.Add(ids[i]);
            }
            for (var labelIndex = 0; labelIndex < sample.Label.Count; labelIndex++)
            {
                var label = sample.Label[labelIndex];
                if (label.Str > 0 && IsSampleLevelLabel(source.StringTable[(int)label.Key]))
                {
                    projected.Label.Add(label);
                }
            }
            if (merged.TryGetValue(projected, out var existing))
            {
                existing.Value[0] += value;
                continue;
            }
            projected.Value.Add(value);
            merged.Add(projected, projected);
            output.Sample.Add(projected);
        }
        if (output.Sample.Count == 0)
        {
            return null;
        }
        output.SampleType.Add(new ValueType(source.SampleType[typeIndex]));
        output.Mapping.AddRange(source.Mapping);
        output.Location.AddRange(source.Location);
        output.Function.AddRange(source.Function);
        output.StringTable.AddRange(source.StringTable);
        output.DropFrames = source.DropFrames;
        output.KeepFrames = source.KeepFrames;
        output.TimeNanos = timeNanos;
        output.DurationNanos = source.DurationNanos;
        if (source.PeriodType is not null)
        {
            output.PeriodType = new ValueType(source.PeriodType);
        }
        output.Period = source.Period;
        output.Comment.AddRange(source.Comment);
        return output;
    }

    private static bool IsSampleLevelLabel(string name) => name is LabelNames.SpanId or TraceIdLabel;

    private sealed class SampleStackComparer : IEqualityComparer<Sample>
    {
        public static readonly SampleStackComparer Instance = new();

        public bool Equals(Sample? x, Sample? y)
        {
            if (x is null || y is null || x.LocationId.Count != y.LocationId.Count || x.Label.Count != y.Label.Count)
            {
                return false;
            }
            for (var i = 0; i < x.LocationId.Count; i++)
            {
                if (x.LocationId[i] != y.LocationId[i])
                {
                    return false;
                }
            }
            for (var i = 0; i < x.Label.Count; i++)
            {
                if (x.Label[i].Key != y.Label[i].Key || x.Label[i].Str != y.Label[i].Str)
                {
                    return false;
                }
            }
            return true;
        }

        public int GetHashCode(Sample obj)
        {
            var hash = new HashCode();
            for (var idIndex = 0; idIndex < obj.LocationId.Count; idIndex++)
            {
                var id = obj.LocationId[idIndex];
                hash.Add(id);
            }
            for (var labelIndex = 0; labelIndex < obj.Label.Count; labelIndex++)
            {
                var label = obj.Label[labelIndex];
                hash.Add(label.Str);
            }
            return hash.ToHashCode();
        }
    }
}
