using Google.Protobuf.Collections;
using Pyroscope.Contracts.Google.V1;
using ValueType = Pyroscope.Contracts.Google.V1.ValueType;

namespace Pyroscope.Formats.Normalization;

/// <summary>
/// The symbols one label group's samples reference, with a compact string table of their own. When a profile
/// splits into several groups, each group's series carry only these instead of the whole profile's tables: one
/// 64 KB pprof whose 16 000 samples each carry a distinct label would otherwise copy its 16 000-string table
/// 16 000 times. Locations are shared with the input (their ids and function ids stay); functions and mappings
/// are re-created because their string indices change. Validation has checked every index.
/// </summary>
internal sealed class GroupSymbols
{
    public List<Location> Locations { get; } = [];

    public List<Function> Functions { get; } = [];

    public List<Mapping> Mappings { get; } = [];

    public List<string> Strings { get; } = [""];

    /// <summary>Symbol entries every series of this group holds.</summary>
    public long Entries => Locations.Count + Functions.Count + Mappings.Count + Strings.Count;

    /// <summary>Builds <see cref="GroupSymbols"/> for one group after another, reusing its marks across groups.</summary>
    internal sealed class Collector
    {
        private readonly Profile _profile;
        private readonly Dictionary<ulong, int> _locationById;
        private readonly Dictionary<ulong, int> _functionById;
        private readonly Dictionary<ulong, int> _mappingById;
        private readonly int[] _locationStamp;
        private readonly int[] _functionStamp;
        private readonly int[] _mappingStamp;
        private readonly int[] _stringStamp;
        private readonly int[] _stringRemap;
        private int _stamp;
        private GroupSymbols? _current;

        public Collector(Profile profile)
        {
            _profile = profile;
            _locationById = IndexById(profile.Location, static l => l.Id);
            _functionById = IndexById(profile.Function, static f => f.Id);
            _mappingById = IndexById(profile.Mapping, static m => m.Id);
            _locationStamp = new int[profile.Location.Count];
            _functionStamp = new int[profile.Function.Count];
            _mappingStamp = new int[profile.Mapping.Count];
            _stringStamp = new int[profile.StringTable.Count];
            _stringRemap = new int[profile.StringTable.Count];
        }

        /// <summary>How many symbol entries the group would hold, without building anything.</summary>
        public long Count(List<Sample> samples, int maxDepth) => Visit(samples, maxDepth, null);

        /// <summary>The group's symbols; <see cref="String"/> maps indices into them until the next call.</summary>
        public GroupSymbols Collect(List<Sample> samples, int maxDepth)
        {
            var symbols = new GroupSymbols();
            Visit(samples, maxDepth, symbols);
            return symbols;
        }

        /// <summary>The index of input string <paramref name="index"/> in the group last collected.</summary>
        public long String(long index)
        {
            if (index <= 0 || index >= _stringStamp.Length)
            {
                return 0; // optional strings out of range read as "", as the ingester reads them
            }
            if (_stringStamp[index] != _stamp)
            {
                _stringStamp[index] = _stamp;
                _stringRemap[index] = _current!.Strings.Count;
                _current.Strings.Add(_profile.StringTable[(int)index]);
            }
            return _stringRemap[index];
        }

        public ValueType Map(ValueType type) => new() { Type = String(type.Type), Unit = String(type.Unit) };

        private long Visit(List<Sample> samples, int maxDepth, GroupSymbols? output)
        {
            _stamp++;
            _current = output;
            long entries = 1; // the empty string
            var strings = new StringCounter(this, output);
            foreach (var t in _profile.SampleType)
            {
                entries += strings.Mark(t.Type) + strings.Mark(t.Unit);
            }
            if (_profile.PeriodType is { } period)
            {
                entries += strings.Mark(period.Type) + strings.Mark(period.Unit);
            }
            entries += strings.Mark(_profile.DropFrames) + strings.Mark(_profile.KeepFrames);
            foreach (var comment in _profile.Comment)
            {
                entries += strings.Mark(comment);
            }
            for (var s = 0; s < samples.Count; s++)
            {
                var sample = samples[s];
                var ids = sample.LocationId;
                var skip = maxDepth > 0 && ids.Count > maxDepth ? ids.Count - maxDepth : 0;
                for (var i = skip; i < ids.Count; i++)
                {
                    entries += VisitLocation(ids[i], output, strings);
                }
                foreach (var label in sample.Label)
                {
                    if (label.Str > 0 && ProfileNormalizer.IsSampleLevelLabel(_profile.StringTable[(int)label.Key]))
                    {
                        entries += strings.Mark(label.Key) + strings.Mark(label.Str);
                    }
                }
            }
            return entries;
        }

        private long VisitLocation(ulong id, GroupSymbols? output, StringCounter strings)
        {
            var index = _locationById[id];
            if (_locationStamp[index] == _stamp)
            {
                return 0;
            }
            _locationStamp[index] = _stamp;
            var location = _profile.Location[index];
            output?.Locations.Add(location);
            long entries = 1;
            if (location.MappingId != 0 && _mappingById.TryGetValue(location.MappingId, out var mappingIndex) && _mappingStamp[mappingIndex] != _stamp)
            {
                _mappingStamp[mappingIndex] = _stamp;
                var mapping = _profile.Mapping[mappingIndex];
                entries += 1 + strings.Mark(mapping.Filename) + strings.Mark(mapping.BuildId);
                if (output is not null)
                {
                    var copy = mapping.Clone();
                    copy.Filename = String(mapping.Filename);
                    copy.BuildId = String(mapping.BuildId);
                    output.Mappings.Add(copy);
                }
            }
            foreach (var line in location.Line)
            {
                var functionIndex = _functionById[line.FunctionId];
                if (_functionStamp[functionIndex] == _stamp)
                {
                    continue;
                }
                _functionStamp[functionIndex] = _stamp;
                var function = _profile.Function[functionIndex];
                entries += 1 + strings.Mark(function.Name) + strings.Mark(function.SystemName) + strings.Mark(function.Filename);
                output?.Functions.Add(new Function
                {
                    Id = function.Id,
                    Name = String(function.Name),
                    SystemName = String(function.SystemName),
                    Filename = String(function.Filename),
                    StartLine = function.StartLine,
                });
            }
            return entries;
        }

        private static Dictionary<ulong, int> IndexById<T>(RepeatedField<T> items, Func<T, ulong> id)
        {
            var byId = new Dictionary<ulong, int>(items.Count);
            for (var i = 0; i < items.Count; i++)
            {
                byId[id(items[i])] = i; // a repeated id resolves to the last one, as the ingester does
            }
            return byId;
        }

        /// <summary>Counts first sightings of strings in the current group (and adds them when building).</summary>
        private readonly struct StringCounter(Collector collector, GroupSymbols? output)
        {
            public int Mark(long index)
            {
                if (index <= 0 || index >= collector._stringStamp.Length || collector._stringStamp[index] == collector._stamp)
                {
                    return 0;
                }
                if (output is not null)
                {
                    collector.String(index);
                }
                else
                {
                    collector._stringStamp[index] = collector._stamp;
                }
                return 1;
            }
        }
    }
}
