using Pyroscope.Contracts.Ingester.V1;
using GoogleProfile = Pyroscope.Contracts.Google.V1.Profile;

namespace Pyroscope.Model.Ingest;

/// <summary>
/// A series that is already normalised, in message form (<see cref="ProfileSeries"/>: ingesters of earlier versions'
/// Push, WAL records of earlier versions, tests), as the head takes series: one run per sample, nothing merged or cut.
/// References resolve as pprof readers always did here: by id, the last row of a repeated id winning, or by position
/// (index + 1) when some row of that kind has id 0.
/// </summary>
public static class MessageSeries
{
    /// <summary>Throws <see cref="InvalidDataException"/> when a sample or line refers to something the profile does not have.</summary>
    public static NormalizedProfile ToNormalized(ProfileSeries series, LabelSet labels)
    {
        var message = series.Profile ?? throw new ArgumentException($"Profile series '{series.Id}' has no profile.");
        var profile = Columns(message);
        var normalized = new NormalizedProfile(profile);
        try
        {
            Resolve(message, normalized);
            normalized.Series.Add(ToSeries(message, normalized, labels, series.Id ?? string.Empty));
            return normalized;
        }
        catch
        {
            normalized.Dispose();
            throw;
        }
    }

    private static PprofProfile Columns(GoogleProfile message)
    {
        var profile = new PprofProfile(ReadOnlyMemory<byte>.Empty, null) { TimeNanos = message.TimeNanos };
        foreach (var s in message.StringTable)
        {
            profile.Strings.Add(s);
        }
        foreach (var m in message.Mapping)
        {
            profile.Mappings.Add(new PprofMapping { Id = m.Id, MemoryStart = m.MemoryStart, MemoryLimit = m.MemoryLimit, FileOffset = m.FileOffset, Filename = m.Filename, BuildId = m.BuildId });
        }
        foreach (var f in message.Function)
        {
            profile.Functions.Add(new PprofFunction { Id = f.Id, Name = f.Name, SystemName = f.SystemName, Filename = f.Filename, StartLine = f.StartLine });
        }
        foreach (var l in message.Location)
        {
            profile.Locations.Add(new PprofLocation { Id = l.Id, MappingId = l.MappingId, Address = l.Address, LineStart = profile.Lines.Count, LineCount = l.Line.Count, IsFolded = l.IsFolded });
            foreach (var line in l.Line)
            {
                profile.Lines.Add(new PprofLine { FunctionId = line.FunctionId, Line = line.Line_, Column = line.Column });
            }
        }
        return profile;
    }

    private static void Resolve(GoogleProfile message, NormalizedProfile normalized)
    {
        var mappings = IdMap.Of(message.Mapping, static m => m.Id);
        var functions = IdMap.Of(message.Function, static f => f.Id);
        for (var i = 0; i < message.Location.Count; i++)
        {
            var location = message.Location[i];
            normalized.LocationMapping.Add(location.MappingId == 0 ? -1 : mappings.Find(location.MappingId));
            foreach (var line in location.Line)
            {
                var function = functions.Find(line.FunctionId);
                if (function < 0)
                {
                    throw new InvalidDataException($"pprof location {(location.Id == 0 ? (ulong)i + 1 : location.Id)} refers to unknown function id {line.FunctionId}.");
                }
                normalized.LineFunction.Add(function);
            }
        }
        var strings = message.StringTable;
        for (var i = 1; i < strings.Count; i++)
        {
            if (strings[i] == LabelNames.SpanId && normalized.SpanIdKey < 0)
            {
                normalized.SpanIdKey = i;
            }
            else if (strings[i] == TraceContextIds.TraceIdLabel && normalized.TraceIdKey < 0)
            {
                normalized.TraceIdKey = i;
            }
        }
    }

    private static NormalizedSeries ToSeries(GoogleProfile message, NormalizedProfile normalized, LabelSet labels, string id)
    {
        var series = new NormalizedSeries(labels, id, message.TimeNanos, 0, 0);
        var locations = IdMap.Of(message.Location, static l => l.Id);
        foreach (var sample in message.Sample)
        {
            if (sample.Value.Count == 0 || sample.Value[0] == 0)
            {
                continue;
            }
            ref var run = ref normalized.Runs.Add();
            run = new NormalizedRun { LocationStart = normalized.RunLocations.Count, LocationCount = sample.LocationId.Count, LabelStart = normalized.RunLabels.Count, LabelCount = sample.Label.Count };
            foreach (var locationId in sample.LocationId)
            {
                var location = locations.Find(locationId);
                if (location < 0)
                {
                    throw new InvalidDataException($"pprof sample refers to unknown location id {locationId}.");
                }
                normalized.RunLocations.Add(location);
            }
            foreach (var label in sample.Label)
            {
                normalized.RunLabels.Add(new PprofLabel { Key = label.Key, Str = label.Str, Num = label.Num, NumUnit = label.NumUnit });
            }
            series.SampleRuns.Add(normalized.Runs.Count - 1);
            series.SampleValues.Add(sample.Value[0]);
        }
        return series;
    }

    /// <summary>Id → row, last row of a repeated id winning; positional (index + 1) when any row has id 0.</summary>
    private readonly struct IdMap(Dictionary<ulong, int>? byId)
    {
        public static IdMap Of<T>(IList<T> rows, Func<T, ulong> idOf)
        {
            foreach (var row in rows)
            {
                if (idOf(row) == 0)
                {
                    return new IdMap(null) { Count = rows.Count };
                }
            }
            var byId = new Dictionary<ulong, int>(rows.Count);
            for (var i = 0; i < rows.Count; i++)
            {
                byId[idOf(rows[i])] = i;
            }
            return new IdMap(byId);
        }

        private int Count { get; init; }

        public int Find(ulong id)
        {
            if (byId is null)
            {
                return id >= 1 && id <= (ulong)Count ? (int)id - 1 : -1;
            }
            return byId.TryGetValue(id, out var row) ? row : -1;
        }
    }
}
