using Pyroscope.Model.Ingest;
using Pyroscope.Contracts.Google.V1;
using Pyroscope.Formats.Pprof;
using ValueType = Pyroscope.Contracts.Google.V1.ValueType;

namespace Pyroscope.Formats.Normalization;

/// <summary>
/// The symbols one label group's samples reference, with a compact string table of their own: what each of the group's
/// series would carry if it were a pprof of its own. Counted (<see cref="Collector.Count"/>) to bound a profile that
/// splits into many series before anything is built, and built (<see cref="Collector.Collect"/>) when a normalised
/// profile is written out as pprof messages (<see cref="ProfileMaterializer"/>). Validation has checked every index.
/// </summary>
internal sealed class GroupSymbols
{
    public List<Location> Locations { get; } = [];

    public List<Function> Functions { get; } = [];

    public List<Mapping> Mappings { get; } = [];

    public List<string> Strings { get; } = [""];

    /// <summary>Visits the symbols of one group after another, reusing its marks across groups.</summary>
    internal sealed class Collector : IDisposable
    {
        private readonly PprofProfile _profile;
        private SymbolIndex _locationById;
        private SymbolIndex _functionById;
        private SymbolIndex _mappingById;
        private readonly int[] _locationStamp;
        private readonly int[] _functionStamp;
        private readonly int[] _mappingStamp;
        private readonly int[] _stringStamp;
        private readonly int[] _stringRemap;
        private int _stamp;
        private GroupSymbols? _current;

        public Collector(PprofProfile profile)
        {
            _profile = profile;
            _locationById = SymbolIndex.Of(profile.Locations.Span, static (in PprofLocation l) => l.Id);
            _functionById = SymbolIndex.Of(profile.Functions.Span, static (in PprofFunction f) => f.Id);
            _mappingById = SymbolIndex.Of(profile.Mappings.Span, static (in PprofMapping m) => m.Id);
            _locationStamp = new int[profile.Locations.Count];
            _functionStamp = new int[profile.Functions.Count];
            _mappingStamp = new int[profile.Mappings.Count];
            _stringStamp = new int[profile.Strings.Count];
            _stringRemap = new int[profile.Strings.Count];
        }

        /// <summary>How many symbol entries the group would hold, without building anything.</summary>
        public long Count(ReadOnlySpan<int> samples, int maxDepth) => Visit(samples, maxDepth, null);

        /// <summary>The group's symbols; <see cref="String"/> maps indices into them until the next call.</summary>
        public GroupSymbols Collect(ReadOnlySpan<int> samples, int maxDepth)
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
                _current.Strings.Add(_profile.Strings[(int)index]);
            }
            return _stringRemap[index];
        }

        public ValueType Map(PprofValueType type) => new() { Type = String(type.Type), Unit = String(type.Unit) };

        private long Visit(ReadOnlySpan<int> samples, int maxDepth, GroupSymbols? output)
        {
            _stamp++;
            _current = output;
            long entries = 1; // the empty string
            var strings = new StringCounter(this, output);
            foreach (var t in _profile.SampleTypes.Span)
            {
                entries += strings.Mark(t.Type) + strings.Mark(t.Unit);
            }
            if (_profile.PeriodType is { } period)
            {
                entries += strings.Mark(period.Type) + strings.Mark(period.Unit);
            }
            entries += strings.Mark(_profile.DropFrames) + strings.Mark(_profile.KeepFrames);
            foreach (var comment in _profile.Comments.Span)
            {
                entries += strings.Mark(comment);
            }
            foreach (var s in samples)
            {
                ref readonly var sample = ref _profile.Samples[s];
                var ids = _profile.LocationIdsOf(sample);
                var skip = maxDepth > 0 && ids.Length > maxDepth ? ids.Length - maxDepth : 0;
                for (var i = skip; i < ids.Length; i++)
                {
                    entries += VisitLocation(ids[i], output, strings);
                }
                foreach (ref readonly var label in _profile.LabelsOf(sample))
                {
                    if (label.Str > 0 && ProfileNormalizer.IsSampleLevelLabel(_profile.Strings[(int)label.Key]))
                    {
                        entries += strings.Mark(label.Key) + strings.Mark(label.Str);
                    }
                }
            }
            return entries;
        }

        private long VisitLocation(ulong id, GroupSymbols? output, StringCounter strings)
        {
            var index = _locationById.Find(id);
            if (_locationStamp[index] == _stamp)
            {
                return 0;
            }
            _locationStamp[index] = _stamp;
            ref readonly var location = ref _profile.Locations[index];
            long entries = 1;
            var mappingIndex = location.MappingId == 0 ? -1 : _mappingById.Find(location.MappingId);
            if (mappingIndex >= 0 && _mappingStamp[mappingIndex] != _stamp)
            {
                _mappingStamp[mappingIndex] = _stamp;
                ref readonly var mapping = ref _profile.Mappings[mappingIndex];
                entries += 1 + strings.Mark(mapping.Filename) + strings.Mark(mapping.BuildId);
                output?.Mappings.Add(PprofConversions.ToMessage(mapping, String(mapping.Filename), String(mapping.BuildId)));
            }
            var lines = _profile.LinesOf(location);
            if (output is not null)
            {
                output.Locations.Add(PprofConversions.ToMessage(location, lines));
            }
            foreach (ref readonly var line in lines)
            {
                var functionIndex = _functionById.Find(line.FunctionId);
                if (_functionStamp[functionIndex] == _stamp)
                {
                    continue;
                }
                _functionStamp[functionIndex] = _stamp;
                ref readonly var function = ref _profile.Functions[functionIndex];
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

        public void Dispose()
        {
            _locationById.Dispose();
            _functionById.Dispose();
            _mappingById.Dispose();
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
