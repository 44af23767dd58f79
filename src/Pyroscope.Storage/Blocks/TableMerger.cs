using Pyroscope.Storage.Head;
using Pyroscope.Storage.Symbols;

namespace Pyroscope.Storage.Blocks;

/// <summary>
/// Appends the contents of decoded blocks into one writable set of tables, re-interning symbols
/// and stacks and skipping profiles whose id was already added (replicas write the same profile).
/// </summary>
internal sealed class TableMerger
{
    private readonly HashSet<string> _seenProfiles = new(StringComparer.Ordinal);
    private long[] _sortValues = new long[256];
    private int[] _sortStacks = new int[256];

    public TenantTables Target { get; } = TenantTables.CreateWritable();

    public int DuplicatesSkipped { get; private set; }

    public void Add(SymbolTable symbols, SeriesIndex index, ProfileTable profiles, ISampleProvider samples)
    {
        var t = Target.Symbols;
        var strings = new int[symbols.Strings.Count];
        for (var i = 0; i < strings.Length; i++)
        {
            strings[i] = t.InternString(symbols.Strings[i]);
        }
        var mappings = new int[symbols.MappingStart.Count];
        for (var i = 0; i < mappings.Length; i++)
        {
            mappings[i] = t.InternMapping(symbols.MappingStart[i], symbols.MappingLimit[i], symbols.MappingOffset[i],
                strings[symbols.MappingFilename[i]], strings[symbols.MappingBuildId[i]]);
        }
        var functions = new int[symbols.FunctionCount];
        for (var i = 0; i < functions.Length; i++)
        {
            functions[i] = t.InternFunction(strings[symbols.FunctionName[i]], strings[symbols.FunctionSystemName[i]],
                strings[symbols.FunctionFilename[i]], symbols.FunctionStartLine[i]);
        }
        var locations = new int[symbols.LocationCount];
        for (var i = 0; i < locations.Length; i++)
        {
            var staged = t.StageLineStart;
            var start = symbols.LocationLineStart[i];
            for (var l = 0; l < symbols.LocationLineCount[i]; l++)
            {
                t.AddStagedLine(functions[symbols.LineFunction[start + l]], symbols.LineNumber[start + l]);
            }
            var mapping = symbols.LocationMapping[i];
            locations[i] = t.InternLocation(mapping < 0 ? -1 : mappings[mapping], symbols.LocationAddress[i], staged);
        }
        // Parents precede children, so one pass in node order remaps the tree.
        var nodes = new int[symbols.NodeCount];
        for (var i = 0; i < nodes.Length; i++)
        {
            var parent = symbols.NodeParent[i];
            nodes[i] = t.InternNode(parent < 0 ? -1 : nodes[parent], locations[symbols.NodeLocation[i]]);
        }

        for (var s = 0; s < index.Count; s++)
        {
            var rows = index.SeriesProfiles[s];
            if (rows.Count == 0)
            {
                continue;
            }
            var seriesId = Target.Index.GetOrAdd(index.Series[s]);
            var columns = samples.SamplesOf(s);
            foreach (var row in rows.Span)
            {
                var id = profiles.ProfileId[row];
                if (id.Length > 0 && !_seenProfiles.Add(id))
                {
                    DuplicatesSkipped++;
                    continue;
                }
                var start = profiles.SampleStart[row];
                var count = profiles.SampleCount[row];
                var targetStart = Target.Samples.Count;
                if (columns.SpanId is null && columns.TraceId is null)
                {
                    // Sorted stack ids delta-encode compactly.
                    if (_sortStacks.Length < count)
                    {
                        _sortStacks = new int[count * 2];
                        _sortValues = new long[count * 2];
                    }
                    for (var i = 0; i < count; i++)
                    {
                        _sortStacks[i] = nodes[columns.StackId[start + i]];
                        _sortValues[i] = columns.Value[start + i];
                    }
                    Array.Sort(_sortStacks, _sortValues, 0, count);
                    for (var i = 0; i < count; i++)
                    {
                        Target.Samples.Add(_sortStacks[i], _sortValues[i], 0);
                    }
                }
                else
                {
                    for (var i = start; i < start + count; i++)
                    {
                        Target.Samples.Add(nodes[columns.StackId[i]], columns.Value[i], columns.SpanOf(i), columns.TraceOf(i));
                    }
                }
                var ts = profiles.TimestampMs[row];
                var newRow = Target.Profiles.Add(seriesId, ts, id, profiles.Total[row], targetStart, count);
                Target.Index.AddProfile(seriesId, newRow, ts);
                Target.MinTimeMs = Math.Min(Target.MinTimeMs, ts);
                Target.MaxTimeMs = Math.Max(Target.MaxTimeMs, ts);
            }
        }
    }
}
