using Pyroscope.Contracts.Google.V1;
using ValueType = Pyroscope.Contracts.Google.V1.ValueType;

namespace Pyroscope.Formats.Legacy;

/// <summary>
/// Builds a pprof <see cref="Profile"/> from stacks of frame names (the shape of every legacy format):
/// one function and one location per distinct name, samples leaf-first as pprof wants them.
/// </summary>
public sealed class StackProfileBuilder
{
    private readonly Profile _profile = new();
    private readonly Dictionary<string, ulong> _locationByName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _strings = new(StringComparer.Ordinal);
    private readonly List<ulong> _stack = new(64);

    public StackProfileBuilder()
    {
        Intern(string.Empty);
    }

    public int SampleCount => _profile.Sample.Count;

    /// <summary>Starts a new stack; add frames root first with <see cref="PushFrame"/>, then <see cref="CommitSample"/>.</summary>
    public void BeginSample() => _stack.Clear();

    public void PushFrame(string name) => _stack.Add(LocationFor(name));

    public void PushFrame(ReadOnlySpan<char> name)
    {
        var lookup = _locationByName.GetAlternateLookup<ReadOnlySpan<char>>();
        _stack.Add(lookup.TryGetValue(name, out var id) ? id : LocationFor(name.ToString()));
    }

    /// <summary>Frames currently on the stack; with <see cref="TruncateStack"/> lets tree walkers share prefixes between samples.</summary>
    public int Depth => _stack.Count;

    /// <summary>Pops frames (leaf side) until <paramref name="depth"/> remain; the stack survives <see cref="CommitSample"/>.</summary>
    public void TruncateStack(int depth) => _stack.RemoveRange(depth, _stack.Count - depth);

    public void CommitSample(long value)
    {
        if (value == 0 || _stack.Count == 0)
        {
            return;
        }
        var sample = new Sample();
        for (var i = _stack.Count - 1; i >= 0; i--)
        {
            sample.LocationId.Add(_stack[i]);
        }
        sample.Value.Add(value);
        _profile.Sample.Add(sample);
    }

    public void AddStack(IReadOnlyList<string> rootFirst, long value)
    {
        BeginSample();
        for (var i = 0; i < rootFirst.Count; i++)
        {
            PushFrame(rootFirst[i]);
        }
        CommitSample(value);
    }

    /// <summary>Finishes the profile with one sample type; for cpu/wall, values are scaled to nanoseconds by the period.</summary>
    public Profile Build(string sampleType, string sampleUnit, long timeNanos, long durationNanos, long periodNanos = 0, string periodType = "", string periodUnit = "")
    {
        _profile.SampleType.Add(new ValueType { Type = Intern(sampleType), Unit = Intern(sampleUnit) });
        if (periodNanos > 0)
        {
            _profile.PeriodType = new ValueType { Type = Intern(periodType), Unit = Intern(periodUnit) };
            _profile.Period = periodNanos;
            foreach (var sample in _profile.Sample)
            {
                var samples = sample.Value[0];
                if (samples > long.MaxValue / periodNanos)
                {
                    throw new ProfileFormatException($"sample value {samples} × period {periodNanos} ns overflows a 64-bit nanosecond count");
                }
                sample.Value[0] = samples * periodNanos;
            }
        }
        _profile.TimeNanos = timeNanos;
        _profile.DurationNanos = Math.Max(0, durationNanos);
        return _profile;
    }

    /// <summary>The legacy conversion upstream applies: cpu/wall become nanoseconds with period 1e9/sampleRate.</summary>
    public Profile BuildLegacy(LegacyProfileType type, int sampleRate, long fromNanos, long untilNanos)
    {
        if (sampleRate > 0 && type.IsTimeBased)
        {
            var period = 1_000_000_000L / sampleRate;
            var sampleType = type.MetricName == "wall" ? "wall" : "cpu";
            return Build(sampleType, "nanoseconds", fromNanos, untilNanos - fromNanos, period, "cpu", "nanoseconds");
        }
        return Build(type.SampleType, type.SampleUnit, fromNanos, untilNanos - fromNanos);
    }

    private ulong LocationFor(string name)
    {
        if (_locationByName.TryGetValue(name, out var id))
        {
            return id;
        }
        id = (ulong)_profile.Location.Count + 1;
        var function = new Function { Id = id, Name = Intern(name) };
        _profile.Function.Add(function);
        var location = new Location { Id = id };
        location.Line.Add(new Line { FunctionId = id });
        _profile.Location.Add(location);
        _locationByName[name] = id;
        return id;
    }

    private long Intern(string s)
    {
        if (_strings.TryGetValue(s, out var index))
        {
            return index;
        }
        index = _profile.StringTable.Count;
        _profile.StringTable.Add(s);
        _strings[s] = index;
        return index;
    }
}
