using Pyroscope.Contracts.Google.V1;
using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Contracts.Types.V1;
using Pyroscope.Formats.Pprof;
using Pyroscope.Model.Ingest;
using ValueType = Pyroscope.Contracts.Google.V1.ValueType;

namespace Pyroscope.Formats.Normalization;

/// <summary>
/// Writes a <see cref="NormalizedProfile"/>'s series out as pprof messages, one single-sample-type profile per series:
/// with the source's whole tables when they are shared, else with only the symbols of the series' label group. For
/// callers that need the message form (tests, tools, ingesters of earlier versions), not the write path.
/// </summary>
public static class ProfileMaterializer
{
    public static List<ProfileSeries> ToSeries(NormalizedProfile normalized)
    {
        var source = normalized.Source;
        var result = new List<ProfileSeries>(normalized.Series.Count);
        Profile? shared = normalized.SharedSymbols ? SharedTables(source) : null;
        using var collector = normalized.SharedSymbols ? null : new GroupSymbols.Collector(source);
        var group = -1;
        GroupSymbols? symbols = null;
        foreach (var series in normalized.Series)
        {
            if (collector is not null && series.Group != group)
            {
                group = series.Group;
                symbols = collector.Collect(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(SamplesOf(normalized, group)), normalized.MaxStackDepth);
            }
            var output = new Profile { TimeNanos = series.TimeNanos, DurationNanos = source.DurationNanos, Period = source.Period };
            var type = source.SampleTypes[series.SampleType];
            for (var i = 0; i < series.SampleCount; i++)
            {
                ref readonly var run = ref normalized.Runs[series.SampleRuns[i]];
                var sample = new Sample();
                foreach (var location in normalized.LocationsOf(run))
                {
                    sample.LocationId.Add(source.Locations[location].Id);
                }
                sample.Value.Add(series.SampleValues[i]);
                foreach (ref readonly var label in normalized.LabelsOf(run))
                {
                    sample.Label.Add(collector is null ? PprofConversions.ToMessage(label) : new Label { Key = collector.String(label.Key), Str = collector.String(label.Str) });
                }
                output.Sample.Add(sample);
            }
            if (shared is not null)
            {
                output.SampleType.Add(new ValueType { Type = type.Type, Unit = type.Unit });
                output.Mapping.AddRange(shared.Mapping);
                output.Location.AddRange(shared.Location);
                output.Function.AddRange(shared.Function);
                output.StringTable.AddRange(shared.StringTable);
                output.DropFrames = source.DropFrames;
                output.KeepFrames = source.KeepFrames;
                output.Comment.AddRange(shared.Comment);
                if (source.PeriodType is { } period)
                {
                    output.PeriodType = new ValueType { Type = period.Type, Unit = period.Unit };
                }
            }
            else
            {
                output.SampleType.Add(collector!.Map(type));
                output.Mapping.AddRange(symbols!.Mappings);
                output.Location.AddRange(symbols.Locations);
                output.Function.AddRange(symbols.Functions);
                output.DropFrames = collector.String(source.DropFrames);
                output.KeepFrames = collector.String(source.KeepFrames);
                foreach (var comment in source.Comments.Span)
                {
                    output.Comment.Add(collector.String(comment));
                }
                if (source.PeriodType is { } period)
                {
                    output.PeriodType = collector.Map(period);
                }
                // Last: the calls above may still add strings the group had not used yet.
                output.StringTable.AddRange(symbols.Strings);
            }
            var message = new ProfileSeries { Profile = output, Id = series.ProfileId, Fingerprint = series.Labels.Fingerprint };
            foreach (var l in series.Labels.Labels)
            {
                message.Labels.Add(new LabelPair { Name = l.Name, Value = l.Value });
            }
            result.Add(message);
        }
        return result;
    }

    /// <summary>The source's tables as messages, built once and shared (read-only) by every series.</summary>
    private static Profile SharedTables(PprofProfile source)
    {
        var tables = new Profile();
        foreach (ref readonly var mapping in source.Mappings.Span)
        {
            tables.Mapping.Add(PprofConversions.ToMessage(mapping, mapping.Filename, mapping.BuildId));
        }
        foreach (ref readonly var location in source.Locations.Span)
        {
            tables.Location.Add(PprofConversions.ToMessage(location, source.LinesOf(location)));
        }
        foreach (ref readonly var function in source.Functions.Span)
        {
            tables.Function.Add(new Function { Id = function.Id, Name = function.Name, SystemName = function.SystemName, Filename = function.Filename, StartLine = function.StartLine });
        }
        for (var i = 0; i < source.Strings.Count; i++)
        {
            tables.StringTable.Add(source.Strings[i]);
        }
        tables.Comment.AddRange(source.Comments.Span.ToArray());
        return tables;
    }

    private static List<int> SamplesOf(NormalizedProfile normalized, int group)
    {
        var samples = new List<int>();
        var groups = normalized.SampleGroup.Span;
        for (var s = 0; s < groups.Length; s++)
        {
            if (groups[s] == group)
            {
                samples.Add(s);
            }
        }
        return samples;
    }
}
