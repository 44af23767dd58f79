namespace Pyroscope.Profiler.Pprof;

/// <summary>
/// Builds one single-sample-type pprof profile from frame-name stacks. Locations and functions
/// are one-to-one (managed frames carry a name, not a useful address), deduplicated by name.
/// </summary>
internal sealed class PprofBuilder
{
    private readonly Profile _profile = new();
    private readonly Dictionary<string, long> _strings = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ulong> _locationByName = new(StringComparer.Ordinal);

    public PprofBuilder(ProfileType type, long period)
    {
        Intern(string.Empty); // pprof requires string_table[0] == ""
        _profile.SampleType.Add(new ValueType { Type = Intern(type.SampleType), Unit = Intern(type.SampleUnit) });
        _profile.PeriodType = new ValueType { Type = Intern(type.PeriodType), Unit = Intern(type.PeriodUnit) };
        _profile.Period = period;
    }

    public int SampleCount => _profile.Sample.Count;

    /// <summary>The location id of a frame, creating its function and location the first time.</summary>
    public ulong Location(string frameName)
    {
        if (_locationByName.TryGetValue(frameName, out var id))
        {
            return id;
        }
        id = (ulong)_profile.Location.Count + 1;
        var name = Intern(frameName);
        _profile.Function.Add(new Function { Id = id, Name = name, SystemName = name });
        var location = new Location { Id = id };
        location.Line.Add(new Line { FunctionId = id });
        _profile.Location.Add(location);
        _locationByName.Add(frameName, id);
        return id;
    }

    /// <summary>
    /// Adds a sample; <paramref name="leafFirstLocations"/> is ordered leaf → root as pprof wants. A
    /// label (e.g. <c>span_id</c>) is added when <paramref name="labelValue"/> is set.
    /// </summary>
    public void AddSample(ReadOnlySpan<ulong> leafFirstLocations, long value, string? labelKey = null, string? labelValue = null)
    {
        var sample = new Sample();
        foreach (var location in leafFirstLocations)
        {
            sample.LocationId.Add(location);
        }
        sample.Value.Add(value);
        if (labelKey is not null && labelValue is not null)
        {
            sample.Label.Add(new Label { Key = Intern(labelKey), Str = Intern(labelValue) });
        }
        _profile.Sample.Add(sample);
    }

    public Profile Build(long timeNanos, long durationNanos)
    {
        _profile.TimeNanos = timeNanos;
        _profile.DurationNanos = durationNanos;
        return _profile;
    }

    private long Intern(string value)
    {
        if (!_strings.TryGetValue(value, out var index))
        {
            index = _profile.StringTable.Count;
            _profile.StringTable.Add(value);
            _strings.Add(value, index);
        }
        return index;
    }
}
