using System.Globalization;
using Pyroscope.Contracts.Google.V1;

namespace Pyroscope.Testing;

/// <summary>A source position: function name, file name and line (a location without lines is "0x&lt;address&gt;").</summary>
public readonly record struct SourceLine(string Function, string File, long Line)
{
    public override string ToString() => $"{Function} {File}:{Line}";
}

/// <summary>
/// An independent decode of a pprof profile's symbols, to compare an export with its input. Shares no code
/// with the server. Ids of 0 (as the .NET profiler sends them) mean positional ids, as the ingester reads them.
/// </summary>
public sealed class PprofSymbols
{
    private readonly Profile _profile;
    private readonly Dictionary<ulong, Function> _functions;
    private readonly Dictionary<ulong, Location> _locations;
    private readonly Dictionary<ulong, Mapping> _mappings;

    public PprofSymbols(Profile profile)
    {
        _profile = profile;
        _functions = ById(profile.Function, static f => f.Id);
        _locations = ById(profile.Location, static l => l.Id);
        _mappings = ById(profile.Mapping, static m => m.Id);
    }

    private string S(long index) => index > 0 && index < _profile.StringTable.Count ? _profile.StringTable[(int)index] : "";

    private static Dictionary<ulong, T> ById<T>(IList<T> items, Func<T, ulong> id)
    {
        var positional = items.Any(x => id(x) == 0);
        var result = new Dictionary<ulong, T>();
        for (var i = 0; i < items.Count; i++)
        {
            result[positional ? (ulong)i + 1 : id(items[i])] = items[i];
        }
        return result;
    }

    /// <summary>The samples with a non-zero value at <paramref name="valueIndex"/> and at least one frame.</summary>
    private IEnumerable<(Location[] LeafFirst, long Value)> Samples(int valueIndex)
    {
        foreach (var sample in _profile.Sample)
        {
            var value = sample.Value[valueIndex];
            if (value != 0 && sample.LocationId.Count > 0)
            {
                yield return (sample.LocationId.Select(id => _locations[id]).ToArray(), value);
            }
        }
    }

    /// <summary>The frames of a location, innermost (inlined callee) first, as pprof orders lines.</summary>
    private IEnumerable<SourceLine> LinesOf(Location location)
    {
        if (location.Line.Count == 0)
        {
            yield return new SourceLine("0x" + location.Address.ToString("x", CultureInfo.InvariantCulture), "", 0);
            yield break;
        }
        foreach (var line in location.Line)
        {
            var f = _functions[line.FunctionId];
            yield return new SourceLine(S(f.Name), S(f.Filename), line.Line_);
        }
    }

    /// <summary>Self value per source line: the innermost frame of each sample's leaf location.</summary>
    public Dictionary<SourceLine, long> FlatByLine(int valueIndex)
    {
        var result = new Dictionary<SourceLine, long>();
        foreach (var (stack, value) in Samples(valueIndex))
        {
            var key = LinesOf(stack[0]).First();
            result[key] = result.GetValueOrDefault(key) + value;
        }
        return result;
    }

    /// <summary>Cumulative value per source line: each line on a sample's stack counts the sample once.</summary>
    public Dictionary<SourceLine, long> CumulativeByLine(int valueIndex)
    {
        var result = new Dictionary<SourceLine, long>();
        foreach (var (stack, value) in Samples(valueIndex))
        {
            foreach (var key in stack.SelectMany(LinesOf).Distinct())
            {
                result[key] = result.GetValueOrDefault(key) + value;
            }
        }
        return result;
    }

    /// <summary>(file name, build id, start, limit, offset) of the mappings the samples use.</summary>
    public HashSet<(string File, string BuildId, ulong Start, ulong Limit, ulong Offset)> UsedMappings(int valueIndex)
    {
        var result = new HashSet<(string, string, ulong, ulong, ulong)>();
        foreach (var (stack, _) in Samples(valueIndex))
        {
            foreach (var location in stack)
            {
                if (location.MappingId != 0 && _mappings.TryGetValue(location.MappingId, out var m))
                {
                    result.Add((S(m.Filename), S(m.BuildId), m.MemoryStart, m.MemoryLimit, m.FileOffset));
                }
            }
        }
        return result;
    }

    /// <summary>How many distinct functions, locations and stacks (by content) the samples use.</summary>
    public (int Functions, int Locations, int Stacks) DistinctUsedSymbols(int valueIndex)
    {
        var functions = new HashSet<(string, string, string, long)>();
        var locations = new HashSet<string>();
        var stacks = new HashSet<string>();
        foreach (var (stack, _) in Samples(valueIndex))
        {
            var stackKey = new System.Text.StringBuilder();
            foreach (var location in stack)
            {
                var mapping = location.MappingId != 0 && _mappings.TryGetValue(location.MappingId, out var m)
                    ? $"{S(m.Filename)}|{S(m.BuildId)}|{m.MemoryStart}|{m.MemoryLimit}|{m.FileOffset}"
                    : "-";
                var key = new System.Text.StringBuilder(mapping).Append('|').Append(location.Address);
                foreach (var line in location.Line)
                {
                    var f = _functions[line.FunctionId];
                    functions.Add((S(f.Name), S(f.SystemName), S(f.Filename), f.StartLine));
                    key.Append('|').Append(S(f.Name)).Append('/').Append(S(f.SystemName)).Append('/').Append(S(f.Filename)).Append('/').Append(f.StartLine).Append(':').Append(line.Line_);
                }
                locations.Add(key.ToString());
                stackKey.Append(key).Append('\n');
            }
            stacks.Add(stackKey.ToString());
        }
        return (functions.Count, locations.Count, stacks.Count);
    }

    /// <summary>Each sample's frames root first (a caller before the functions inlined into it) as "function file:line".</summary>
    public List<(string[] RootFirst, long Value)> FrameStacks(int valueIndex)
    {
        var result = new List<(string[], long)>();
        foreach (var (stack, value) in Samples(valueIndex))
        {
            result.Add((stack.SelectMany(LinesOf).Reverse().Select(l => l.ToString()).ToArray(), value));
        }
        return result;
    }

    public long Total(int valueIndex) => Samples(valueIndex).Sum(s => s.Value);
}
