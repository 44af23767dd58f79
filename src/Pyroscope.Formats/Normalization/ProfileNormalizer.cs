using System.Buffers;
using System.IO.Hashing;
using System.Security.Cryptography;
using Pyroscope.Contracts.Google.V1;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Formats.Pprof;
using Pyroscope.Model;
using Pyroscope.Model.Ingest;
using Label = Pyroscope.Model.Label;

namespace Pyroscope.Formats.Normalization;

/// <summary>What the normaliser needs besides the profile and its labels.</summary>
public readonly record struct NormalizeContext(long NowNanos, long FallbackTimeNanos, int DecompressedSize)
{
    /// <summary>Series the push may still create (null: no cap); over it the profile is refused before anything is copied.</summary>
    public int? MaxSeries { get; init; }

    /// <summary>Series earlier profiles of the same push created, for the refusal message and the series ids.</summary>
    public int SeriesSoFar { get; init; }

    /// <summary>The limit <see cref="MaxSeries"/> comes from, named in the refusal.</summary>
    public string MaxSeriesSource { get; init; } = "";

    /// <summary>
    /// The push's seed from which every series id derives (with the series' index in the push): the same push normalised
    /// again — a WAL replay, a replica — gets the same ids. Zero: a random seed.
    /// </summary>
    public UInt128 IdSeed { get; init; }
}

/// <summary>
/// pprof + series labels → one series per (sample-label group × sample type), as upstream's distributor (validate,
/// normalise, split by sample labels) and ingester (one series per sample type with __profile_type__ &amp; co.) do
/// together:
/// <list type="bullet">
/// <item>limits: profile size, sample count, labels per sample (refused, naming limit and value);
/// stack depth and symbol length (truncated);</item>
/// <item>pprof string labels split the profile into series (series labels win on conflicts), except
/// span_id / trace_id (profile_id is renamed span_id) which stay on the samples;</item>
/// <item>Go profiles: generic shapes in function names become <c>[...]</c> (<see cref="GoTypeParameterFix"/>);</item>
/// <item>per sample type: zero values dropped, identical stacks merged (sums saturate, never wrap).</item>
/// </list>
/// Works in place on a <see cref="PprofProfile"/> and returns a <see cref="NormalizedProfile"/> whose series share the
/// profile's symbols: nothing is copied per series. Work is still bounded before anything is built: the series a
/// profile splits into are counted against the push's series cap, and the symbol entries they would hold as pprof of
/// their own against <see cref="MinExpansionBudget"/> / <see cref="ExpansionFactor"/> (refused beyond it).
/// </summary>
public static class ProfileNormalizer
{
    public const string TraceIdLabel = SampleGroups.TraceIdLabel;

    /// <summary>Symbol entries all series of one profile may hold together, whatever the profile's own size.</summary>
    public const long MinExpansionBudget = 1_000_000;

    /// <summary>… or this many times the profile's own symbol entries, when that is more.</summary>
    public const long ExpansionFactor = 16;

    /// <summary>
    /// Normalises <paramref name="profile"/> (changing it in place). The result owns the profile; when normalisation
    /// refuses it (<see cref="ProfileValidationException"/>) the caller still does.
    /// </summary>
    public static NormalizedProfile Normalize(PprofProfile profile, IEnumerable<Label> seriesLabels, TenantLimits limits, NormalizeContext context)
    {
        var result = new NormalizedProfile(profile) { MaxStackDepth = Math.Max(0, limits.MaxProfileStacktraceDepth) };
        try
        {
            Build(profile, result, seriesLabels, limits, context);
            return result;
        }
        catch
        {
            result.DisposeExceptSource();
            throw;
        }
    }

    private static void Build(PprofProfile profile, NormalizedProfile result, IEnumerable<Label> seriesLabels, TenantLimits limits, NormalizeContext context)
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
        var strings = profile.Strings;
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
        TruncateSymbols(strings, limits.MaxProfileSymbolValueLength);
        NumberPositionalMappings(profile);

        var groups = SampleGroups.Split(profile, out var spanKey, out var traceKey);
        var sampleRuns = ArrayPool<int>.Shared.Rent(Math.Max(1, profile.Samples.Count));
        try
        {
            result.SpanIdKey = spanKey;
            result.TraceIdKey = traceKey;
            using var plan = ExpansionPlan.Make(profile, groups, limits.MaxProfileStacktraceDepth, context, baseLabels);
            result.SharedSymbols = plan.Collector is null;
            ResolveSymbols(profile, result);
            FindRuns(profile, result, groups, sampleRuns);
            BuildSeries(profile, result, groups, sampleRuns, baseLabels, limits, context, timeNanos);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(sampleRuns);
            SampleGroups.Return(groups);
        }
    }

    private static void TruncateSymbols(PprofStrings strings, int max)
    {
        if (max <= 0)
        {
            return;
        }
        for (var i = 0; i < strings.Count; i++)
        {
            // UTF-16 length ≤ UTF-8 length: most strings are decided without decoding.
            if (strings.TryGetUtf8(i, out var utf8) && utf8.Length <= max)
            {
                continue;
            }
            if (strings.Utf16Length(i) > max)
            {
                // Upstream keeps the end of the symbol: the most specific part of a qualified name.
                strings.Set(i, strings[i][^max..]);
            }
        }
    }

    internal static bool IsSampleLevelLabel(string name) => name is LabelNames.SpanId or TraceIdLabel;

    /// <summary>
    /// Some clients send mapping id 0 everywhere and mean "index + 1" (the ingester reads them so); numbering
    /// them explicitly keeps that meaning when series carry only some of the mappings.
    /// </summary>
    private static void NumberPositionalMappings(PprofProfile profile)
    {
        var mappings = profile.Mappings.Span;
        foreach (ref readonly var mapping in mappings)
        {
            if (mapping.Id == 0)
            {
                for (var j = 0; j < mappings.Length; j++)
                {
                    mappings[j].Id = (ulong)j + 1;
                }
                return;
            }
        }
    }

    /// <summary>Every location's mapping row and every line's function row (validation has checked the function ids).</summary>
    private static void ResolveSymbols(PprofProfile profile, NormalizedProfile result)
    {
        var mappings = SymbolIndex.Of(profile.Mappings.Span, static (in PprofMapping m) => m.Id);
        var functions = SymbolIndex.Of(profile.Functions.Span, static (in PprofFunction f) => f.Id);
        try
        {
            var locations = profile.Locations.Span;
            result.LocationMapping.Reserve(locations.Length);
            foreach (ref readonly var location in locations)
            {
                result.LocationMapping.Add(location.MappingId == 0 ? -1 : mappings.Find(location.MappingId));
            }
            var lines = profile.Lines.Span;
            result.LineFunction.Reserve(lines.Length);
            foreach (ref readonly var line in lines)
            {
                result.LineFunction.Add(functions.Find(line.FunctionId));
            }
        }
        finally
        {
            mappings.Dispose();
            functions.Dispose();
        }
    }

    /// <summary>Each sample's run (-1 for none: all its values are zero); also records each sample's group.</summary>
    private static void FindRuns(PprofProfile profile, NormalizedProfile result, List<SampleGroup> groups, int[] sampleRuns)
    {
        var samples = profile.Samples.Span;
        result.SampleGroup.Reserve(samples.Length);
        for (var i = 0; i < samples.Length; i++)
        {
            result.SampleGroup.Add(0);
        }
        var groupOf = result.SampleGroup.Span;
        for (var g = 0; g < groups.Count; g++)
        {
            foreach (var s in groups[g].Samples.Span)
            {
                groupOf[s] = g;
            }
        }

        var locations = SymbolIndex.Of(profile.Locations.Span, static (in PprofLocation l) => l.Id);
        var keyKinds = new SampleLevelKeys(profile.Strings);
        using var runs = new StackRuns(result, samples.Length);
        var maxDepth = result.MaxStackDepth;
        var path = ArrayPool<int>.Shared.Rent(256);
        var labels = ArrayPool<PprofLabel>.Shared.Rent(16);
        try
        {
            for (var s = 0; s < samples.Length; s++)
            {
                ref readonly var sample = ref samples[s];
                if (!AnyNonZero(profile.ValuesOf(sample)))
                {
                    sampleRuns[s] = -1;
                    continue;
                }
                var ids = profile.LocationIdsOf(sample);
                // LocationId[0] is the leaf: dropping the first entries keeps the root-most frames.
                var skip = maxDepth > 0 && ids.Length > maxDepth ? ids.Length - maxDepth : 0;
                var depth = ids.Length - skip;
                if (path.Length < depth)
                {
                    ArrayPool<int>.Shared.Return(path);
                    path = ArrayPool<int>.Shared.Rent(depth);
                }
                for (var i = 0; i < depth; i++)
                {
                    path[i] = locations.Find(ids[skip + i]);
                }
                var count = 0;
                foreach (ref readonly var label in profile.LabelsOf(sample))
                {
                    if (label.Str > 0 && keyKinds.IsSampleLevel(label.Key))
                    {
                        if (count == labels.Length)
                        {
                            var bigger = ArrayPool<PprofLabel>.Shared.Rent(count * 2);
                            labels.AsSpan(0, count).CopyTo(bigger);
                            ArrayPool<PprofLabel>.Shared.Return(labels);
                            labels = bigger;
                        }
                        labels[count++] = label;
                    }
                }
                sampleRuns[s] = runs.Find(path.AsSpan(0, depth), labels.AsSpan(0, count));
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(path);
            ArrayPool<PprofLabel>.Shared.Return(labels);
            locations.Dispose();
            keyKinds.Dispose();
        }
    }

    private static bool AnyNonZero(ReadOnlySpan<long> values)
    {
        foreach (var v in values)
        {
            if (v != 0)
            {
                return true;
            }
        }
        return false;
    }

    private static void BuildSeries(PprofProfile profile, NormalizedProfile result, List<SampleGroup> groups, int[] sampleRuns,
        Dictionary<string, string> baseLabels, TenantLimits limits, NormalizeContext context, long timeNanos)
    {
        var strings = profile.Strings;
        var periodType = profile.PeriodType is { } pt ? (ProfileValidator.Str(strings, pt.Type), ProfileValidator.Str(strings, pt.Unit)) : ("", "");
        var metricName = baseLabels.GetValueOrDefault(LabelNames.MetricName, "");
        var seed = context.IdSeed != UInt128.Zero ? context.IdSeed : NewIdSeed();
        var samples = profile.Samples.Span;
        // Where run r sits in the series being built (valid while slotStamp[r] == stamp).
        var runCount = result.Runs.Count;
        var slot = ArrayPool<int>.Shared.Rent(Math.Max(1, runCount));
        var slotStamp = ArrayPool<int>.Shared.Rent(Math.Max(1, runCount));
        slotStamp.AsSpan(0, runCount).Clear();
        var stamp = 0;
        // Reused for every group and series: LabelSet.From copies what it keeps.
        var labels = new List<Label>(baseLabels.Count + 16);
        var typed = new List<Label>(baseLabels.Count + 22);
        // The labels a sample type adds to its series (__name__, __profile_type__, …), the same for every group.
        var typeLabels = new Label[profile.SampleTypes.Count][];
        for (var t = 0; t < typeLabels.Length; t++)
        {
            var type = new ProfileTypeId(metricName, ProfileValidator.Str(strings, profile.SampleTypes[t].Type),
                ProfileValidator.Str(strings, profile.SampleTypes[t].Unit), periodType.Item1, periodType.Item2);
            var nonEmpty = new List<Label>(6);
            foreach (var l in type.SeriesLabels())
            {
                if (l.Value.Length > 0)
                {
                    nonEmpty.Add(l);
                }
            }
            typeLabels[t] = [.. nonEmpty];
        }
        try
        {
            for (var g = 0; g < groups.Count; g++)
            {
                var group = groups[g];
                labels.Clear();
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

                for (var t = 0; t < profile.SampleTypes.Count; t++)
                {
                    stamp++;
                    NormalizedSeries? series = null;
                    foreach (var s in group.Samples.Span)
                    {
                        var value = profile.ValuesOf(samples[s])[t];
                        if (value == 0)
                        {
                            continue;
                        }
                        if (series is null)
                        {
                            typed.Clear();
                            typed.AddRange(labels);
                            typed.AddRange(typeLabels[t]);
                            series = new NormalizedSeries(LabelSet.From(typed), SeriesId(seed, context.SeriesSoFar + result.Series.Count), timeNanos, g, t);
                            result.Series.Add(series);
                        }
                        var run = sampleRuns[s];
                        if (slotStamp[run] == stamp)
                        {
                            ref var sum = ref series.SampleValues[slot[run]];
                            sum = Saturating.Add(sum, value);
                            continue;
                        }
                        slotStamp[run] = stamp;
                        slot[run] = series.SampleRuns.Count;
                        series.SampleRuns.Add(run);
                        series.SampleValues.Add(value);
                    }
                }
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(slot);
            ArrayPool<int>.Shared.Return(slotStamp);
        }
    }

    /// <summary>A UUID (version 4 layout) from the push's seed and the series' index in the push.</summary>
    public static string SeriesId(UInt128 seed, int index)
    {
        Span<byte> input = stackalloc byte[20];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt128LittleEndian(input, seed);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(input[16..], index);
        Span<byte> bytes = stackalloc byte[16];
        XxHash128.Hash(input, bytes);
        bytes[7] = (byte)((bytes[7] & 0x0F) | 0x40);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes).ToString();
    }

    /// <summary>
    /// A seed no other push gets: a random key of this process and a count of the seeds it gave. Ids need to be unique,
    /// not unpredictable (they are hashed with <see cref="XxHash128"/> anyway), and a CSPRNG read per push was 0.7 % of a
    /// small push's CPU.
    /// </summary>
    public static UInt128 NewIdSeed() => new(s_processIdKey, (ulong)Interlocked.Increment(ref s_idSeeds));

    private static readonly ulong s_processIdKey = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));
    private static long s_idSeeds;

    /// <summary>
    /// The generated-message form: normalises a copy of <paramref name="profile"/> and writes each series out as a pprof
    /// of its own (tests, tools, and ingesters of earlier versions).
    /// </summary>
    public static List<ProfileSeries> Normalize(Profile profile, IEnumerable<Label> seriesLabels, TenantLimits limits, NormalizeContext context)
    {
        var compact = PprofReader.FromMessage(profile);
        NormalizedProfile normalized;
        try
        {
            normalized = Normalize(compact, seriesLabels, limits, context);
        }
        catch
        {
            compact.Dispose();
            throw;
        }
        using (normalized)
        {
            return ProfileMaterializer.ToSeries(normalized);
        }
    }

    /// <summary>Which string indices name a sample-level label (span_id, trace_id), decided once per index.</summary>
    private struct SampleLevelKeys(PprofStrings strings) : IDisposable
    {
        private sbyte[]? _kinds;

        public bool IsSampleLevel(long key)
        {
            if (_kinds is null)
            {
                _kinds = ArrayPool<sbyte>.Shared.Rent(Math.Max(1, strings.Count));
                _kinds.AsSpan(0, strings.Count).Clear();
            }
            ref var kind = ref _kinds[key];
            if (kind == 0)
            {
                kind = strings.EqualsText((int)key, LabelNames.SpanId) || strings.EqualsText((int)key, TraceIdLabel) ? (sbyte)1 : (sbyte)-1;
            }
            return kind > 0;
        }

        public void Dispose()
        {
            if (_kinds is not null)
            {
                ArrayPool<sbyte>.Shared.Return(_kinds);
            }
        }
    }
}
