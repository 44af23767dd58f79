using Pyroscope.Contracts.Google.V1;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Contracts.Types.V1;
using Pyroscope.Model;
using ValueType = Pyroscope.Contracts.Google.V1.ValueType;
using Label = Pyroscope.Model.Label;

namespace Pyroscope.Formats.Normalization;

/// <summary>What the normaliser needs besides the profile and its labels.</summary>
public readonly record struct NormalizeContext(long NowNanos, long FallbackTimeNanos, int DecompressedSize)
{
    /// <summary>Series the push may still create (null: no cap); over it the profile is refused before anything is copied.</summary>
    public int? MaxSeries { get; init; }

    /// <summary>Series earlier profiles of the same push created, for the refusal message.</summary>
    public int SeriesSoFar { get; init; }

    /// <summary>The limit <see cref="MaxSeries"/> comes from, named in the refusal.</summary>
    public string MaxSeriesSource { get; init; } = "";
}

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
/// <item>per sample type: zero values dropped, identical stacks merged (sums saturate, never wrap).</item>
/// </list>
/// Work is bounded before anything is copied: the series a profile splits into are counted against the push's
/// series cap, and the symbol entries they would hold against <see cref="MinExpansionBudget"/> /
/// <see cref="ExpansionFactor"/>. Within that budget the series share the input's tables; beyond it each label
/// group's series carry only the symbols their samples use (<see cref="GroupSymbols"/>), or the profile is refused.
/// The returned messages share Location (and, when sharing, all symbol) instances with the input: treat them as read-only.
/// </summary>
public static class ProfileNormalizer
{
    public const string TraceIdLabel = SampleGroups.TraceIdLabel;

    /// <summary>Symbol entries all series of one profile may hold together, whatever the profile's own size.</summary>
    public const long MinExpansionBudget = 1_000_000;

    /// <summary>… or this many times the profile's own symbol entries, when that is more.</summary>
    public const long ExpansionFactor = 16;

    public static List<ProfileSeries> Normalize(Profile profile, IEnumerable<Label> seriesLabels, TenantLimits limits, NormalizeContext context)
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
        ProfileValidator.Validate(profile, baseLabels, limits, context);
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
        ProfileValidator.CheckIngestionWindow(timeNanos, baseLabels, limits, context.NowNanos);

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
        NumberPositionalMappings(profile);

        var groups = SampleGroups.Split(profile);
        var plan = ExpansionPlan.Make(profile, groups, limits.MaxProfileStacktraceDepth, context, baseLabels);
        var result = new List<ProfileSeries>(plan.Series);
        var periodType = profile.PeriodType is { } pt ? (ProfileValidator.Str(strings, pt.Type), ProfileValidator.Str(strings, pt.Unit)) : ("", "");
        var metricName = baseLabels.GetValueOrDefault(LabelNames.MetricName, "");
        foreach (var group in groups)
        {
            var labels = new List<Label>(baseLabels.Count + group.Labels.Length + 6);
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

            var symbols = plan.Collector?.Collect(group.Samples, limits.MaxProfileStacktraceDepth);
            for (var t = 0; t < profile.SampleType.Count; t++)
            {
                var output = symbols is null
                    ? Project(profile, group.Samples, t, limits.MaxProfileStacktraceDepth, timeNanos, null, null)
                    : Project(profile, group.Samples, t, limits.MaxProfileStacktraceDepth, timeNanos, symbols, plan.Collector);
                if (output is null)
                {
                    continue;
                }
                var type = new ProfileTypeId(metricName, ProfileValidator.Str(strings, profile.SampleType[t].Type), ProfileValidator.Str(strings, profile.SampleType[t].Unit), periodType.Item1, periodType.Item2);
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

    internal static bool IsSampleLevelLabel(string name) => name is LabelNames.SpanId or TraceIdLabel;

    /// <summary>
    /// Some clients send mapping id 0 everywhere and mean "index + 1" (the ingester reads them so); numbering
    /// them explicitly keeps that meaning when series carry only some of the mappings.
    /// </summary>
    private static void NumberPositionalMappings(Profile profile)
    {
        var mappings = profile.Mapping;
        for (var i = 0; i < mappings.Count; i++)
        {
            if (mappings[i].Id == 0)
            {
                for (var j = 0; j < mappings.Count; j++)
                {
                    mappings[j].Id = (ulong)j + 1;
                }
                return;
            }
        }
    }

    /// <summary>
    /// The samples of one group for one sample type, or null when none has a non-zero value. Without
    /// <paramref name="symbols"/> the output shares the input's tables; with them, the group's own.
    /// </summary>
    private static Profile? Project(Profile source, List<Sample> samples, int typeIndex, int maxDepth, long timeNanos, GroupSymbols? symbols, GroupSymbols.Collector? collector)
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
                    projected.Label.Add(collector is null ? label : new Contracts.Google.V1.Label { Key = collector.String(label.Key), Str = collector.String(label.Str) });
                }
            }
            if (merged.TryGetValue(projected, out var existing))
            {
                existing.Value[0] = Saturating.Add(existing.Value[0], value);
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
        if (symbols is null || collector is null)
        {
            output.SampleType.Add(new ValueType(source.SampleType[typeIndex]));
            output.Mapping.AddRange(source.Mapping);
            output.Location.AddRange(source.Location);
            output.Function.AddRange(source.Function);
            output.StringTable.AddRange(source.StringTable);
            output.DropFrames = source.DropFrames;
            output.KeepFrames = source.KeepFrames;
            output.Comment.AddRange(source.Comment);
            if (source.PeriodType is not null)
            {
                output.PeriodType = new ValueType(source.PeriodType);
            }
        }
        else
        {
            output.SampleType.Add(collector.Map(source.SampleType[typeIndex]));
            output.Mapping.AddRange(symbols.Mappings);
            output.Location.AddRange(symbols.Locations);
            output.Function.AddRange(symbols.Functions);
            output.DropFrames = collector.String(source.DropFrames);
            output.KeepFrames = collector.String(source.KeepFrames);
            foreach (var comment in source.Comment)
            {
                output.Comment.Add(collector.String(comment));
            }
            if (source.PeriodType is not null)
            {
                output.PeriodType = collector.Map(source.PeriodType);
            }
            // Last: the calls above may still add strings the group had not used yet.
            output.StringTable.AddRange(symbols.Strings);
        }
        output.TimeNanos = timeNanos;
        output.DurationNanos = source.DurationNanos;
        output.Period = source.Period;
        return output;
    }

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
                hash.Add(obj.LocationId[idIndex]);
            }
            for (var labelIndex = 0; labelIndex < obj.Label.Count; labelIndex++)
            {
                hash.Add(obj.Label[labelIndex].Str);
            }
            return hash.ToHashCode();
        }
    }
}
