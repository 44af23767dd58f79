using Pyroscope.Model.Ingest;
namespace Pyroscope.Formats.Normalization;

/// <summary>
/// How a profile will be split, decided and checked before any series is built: how many series (label groups
/// × sample types with a non-zero value) and how many symbol entries they hold together. The series share the
/// input's tables while that stays within budget (the common case: a few label sets, a few sample types);
/// otherwise every group gets only the symbols it uses, and even that must fit the budget.
/// </summary>
internal sealed class ExpansionPlan : IDisposable
{
    private ExpansionPlan(int series, GroupSymbols.Collector? collector)
    {
        Series = series;
        Collector = collector;
    }

    public int Series { get; }

    /// <summary>Null when the series share the input's tables; else the collector of each group's own symbols.</summary>
    public GroupSymbols.Collector? Collector { get; }

    public void Dispose() => Collector?.Dispose();

    public static ExpansionPlan Make(PprofProfile profile, List<SampleGroup> groups, int maxDepth, NormalizeContext context, Dictionary<string, string> labels)
    {
        var typesPerGroup = new int[groups.Count];
        var series = CountSeries(profile, groups, typesPerGroup);
        if (series > context.MaxSeries)
        {
            throw new ProfileValidationException(DiscardReasons.SeriesLimit,
                $"push refused before storing anything: it would create {context.SeriesSoFar + series} series, more than {context.MaxSeriesSource} allows " +
                $"(the profile with labels '{ProfileValidator.Format(labels)}' alone splits into {series}: {groups.Count} pprof label set(s) × {profile.SampleTypes.Count} sample type(s))");
        }
        long inputEntries = profile.Strings.Count + profile.Locations.Count + profile.Functions.Count + profile.Mappings.Count;
        var budget = Math.Max(ProfileNormalizer.MinExpansionBudget, ProfileNormalizer.ExpansionFactor * inputEntries);
        if ((long)series * inputEntries <= budget)
        {
            return new ExpansionPlan(series, null);
        }
        var collector = new GroupSymbols.Collector(profile);
        long total = 0;
        for (var g = 0; g < groups.Count; g++)
        {
            if (typesPerGroup[g] == 0)
            {
                continue;
            }
            total += typesPerGroup[g] * collector.Count(groups[g].Samples.Span, maxDepth);
            if (total > budget)
            {
                collector.Dispose();
                throw new ProfileValidationException(DiscardReasons.ExpansionLimit,
                    $"the profile with labels '{ProfileValidator.Format(labels)}' would expand into more than {budget} symbol entries across its {series} series " +
                    $"({groups.Count} pprof label set(s) × {profile.SampleTypes.Count} sample type(s)); the limit is {ProfileNormalizer.ExpansionFactor} × the profile's own " +
                    $"{inputEntries} entries, at least {ProfileNormalizer.MinExpansionBudget}: send fewer sample types or fewer distinct pprof labels per profile");
            }
        }
        return new ExpansionPlan(series, collector);
    }

    /// <summary>Series = (group, sample type) pairs with at least one non-zero value; fills the count per group.</summary>
    private static int CountSeries(PprofProfile profile, List<SampleGroup> groups, int[] typesPerGroup)
    {
        var types = profile.SampleTypes.Count;
        var seen = new bool[types];
        var series = 0;
        for (var g = 0; g < groups.Count; g++)
        {
            Array.Clear(seen);
            var found = 0;
            var samples = groups[g].Samples.Span;
            for (var s = 0; s < samples.Length && found < types; s++)
            {
                var values = profile.ValuesOf(profile.Samples[samples[s]]);
                for (var t = 0; t < types; t++)
                {
                    if (!seen[t] && values[t] != 0)
                    {
                        seen[t] = true;
                        found++;
                    }
                }
            }
            typesPerGroup[g] = found;
            series += found;
        }
        return series;
    }
}
