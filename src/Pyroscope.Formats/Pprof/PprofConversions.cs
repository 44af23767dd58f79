using Pyroscope.Model.Ingest;
using Pyroscope.Contracts.Google.V1;
using ValueType = Pyroscope.Contracts.Google.V1.ValueType;

namespace Pyroscope.Formats.Pprof;

/// <summary>The generated <see cref="Profile"/> message from a <see cref="PprofProfile"/>'s rows, for callers that need it.</summary>
public static class PprofConversions
{
    public static Profile ToMessage(PprofProfile profile)
    {
        var message = new Profile
        {
            DropFrames = profile.DropFrames,
            KeepFrames = profile.KeepFrames,
            TimeNanos = profile.TimeNanos,
            DurationNanos = profile.DurationNanos,
            Period = profile.Period,
            DefaultSampleType = profile.DefaultSampleType,
        };
        if (profile.PeriodType is { } period)
        {
            message.PeriodType = new ValueType { Type = period.Type, Unit = period.Unit };
        }
        foreach (var type in profile.SampleTypes.Span)
        {
            message.SampleType.Add(new ValueType { Type = type.Type, Unit = type.Unit });
        }
        foreach (ref readonly var sample in profile.Samples.Span)
        {
            var s = new Sample();
            foreach (var id in profile.LocationIdsOf(sample))
            {
                s.LocationId.Add(id);
            }
            foreach (var value in profile.ValuesOf(sample))
            {
                s.Value.Add(value);
            }
            foreach (ref readonly var label in profile.LabelsOf(sample))
            {
                s.Label.Add(ToMessage(label));
            }
            message.Sample.Add(s);
        }
        foreach (ref readonly var mapping in profile.Mappings.Span)
        {
            message.Mapping.Add(ToMessage(mapping, mapping.Filename, mapping.BuildId));
        }
        foreach (ref readonly var location in profile.Locations.Span)
        {
            message.Location.Add(ToMessage(location, profile.LinesOf(location)));
        }
        foreach (ref readonly var function in profile.Functions.Span)
        {
            message.Function.Add(new Function { Id = function.Id, Name = function.Name, SystemName = function.SystemName, Filename = function.Filename, StartLine = function.StartLine });
        }
        for (var i = 0; i < profile.Strings.Count; i++)
        {
            message.StringTable.Add(profile.Strings[i]);
        }
        foreach (var comment in profile.Comments.Span)
        {
            message.Comment.Add(comment);
        }
        return message;
    }

    public static Label ToMessage(in PprofLabel label) => new() { Key = label.Key, Str = label.Str, Num = label.Num, NumUnit = label.NumUnit };

    public static Mapping ToMessage(in PprofMapping mapping, long filename, long buildId) => new()
    {
        Id = mapping.Id,
        MemoryStart = mapping.MemoryStart,
        MemoryLimit = mapping.MemoryLimit,
        FileOffset = mapping.FileOffset,
        Filename = filename,
        BuildId = buildId,
        HasFunctions = mapping.HasFunctions,
        HasFilenames = mapping.HasFilenames,
        HasLineNumbers = mapping.HasLineNumbers,
        HasInlineFrames = mapping.HasInlineFrames,
    };

    public static Location ToMessage(in PprofLocation location, ReadOnlySpan<PprofLine> lines)
    {
        var message = new Location { Id = location.Id, MappingId = location.MappingId, Address = location.Address, IsFolded = location.IsFolded };
        foreach (ref readonly var line in lines)
        {
            message.Line.Add(new Line { FunctionId = line.FunctionId, Line_ = line.Line, Column = line.Column });
        }
        return message;
    }
}
