using System.Diagnostics.CodeAnalysis;

namespace Pyroscope.Model;

/// <summary>
/// A profile type as upstream identifies it: <c>name:sample_type:sample_unit:period_type:period_unit</c>,
/// for example <c>process_cpu:cpu:nanoseconds:cpu:nanoseconds</c>.
/// </summary>
public sealed record ProfileTypeId(string Name, string SampleType, string SampleUnit, string PeriodType, string PeriodUnit)
{
    public string Id => $"{Name}:{SampleType}:{SampleUnit}:{PeriodType}:{PeriodUnit}";

    public override string ToString() => Id;

    public static bool TryParse(string? id, [NotNullWhen(true)] out ProfileTypeId? type)
    {
        type = null;
        if (string.IsNullOrEmpty(id))
        {
            return false;
        }
        // Upstream accepts empty period parts: old agents send pprof without a period type.
        var parts = id.Split(':');
        if (parts.Length != 5 || parts[0].Length == 0 || parts[1].Length == 0)
        {
            return false;
        }
        type = new ProfileTypeId(parts[0], parts[1], parts[2], parts[3], parts[4]);
        return true;
    }

    /// <summary>The labels a stored series of this type carries besides its user labels.</summary>
    public IEnumerable<Label> SeriesLabels()
    {
        yield return new Label(LabelNames.MetricName, Name);
        yield return new Label(LabelNames.ProfileType, Id);
        yield return new Label(LabelNames.SampleType, SampleType);
        yield return new Label(LabelNames.SampleUnit, SampleUnit);
        yield return new Label(LabelNames.PeriodType, PeriodType);
        yield return new Label(LabelNames.PeriodUnit, PeriodUnit);
    }
}
