namespace Pyroscope.Storage.Symbols;

/// <summary>
/// The first rows of a <see cref="SymbolTable"/> as plain arrays plus counts, taken while the table cannot
/// change (a head's lock held, or a decoded block). Emitting stacks from a snapshot needs no lock:
/// <list type="bullet">
/// <item>Every column only ever grows: a row below the captured count is written before the count covers it
/// and never written again. Interning stages a candidate at index <c>Count</c> and may roll it back with
/// <c>SetCount</c>, but that slot is at or above every count a snapshot took, so a reader never looks at it.</item>
/// <item>Growth copies into a new array and publishes it; the array captured here keeps every row below the
/// count, later writes land either above the count or in a newer array.</item>
/// <item>Ids only point backwards: a node's parent and location, a location's mapping and lines, a line's
/// function and a function's strings were all interned before the row that refers to them, so every id
/// reachable from a node below <see cref="NodeCount"/> is below the matching count.</item>
/// </list>
/// The lock taken to capture the snapshot orders the capture after the writes it covers (on any CPU).
/// </summary>
internal sealed class SymbolSnapshot
{
    public readonly string[] Strings;
    public readonly int[] FunctionName;
    public readonly int[] FunctionSystemName;
    public readonly int[] FunctionFilename;
    public readonly long[] FunctionStartLine;
    public readonly ulong[] MappingStart;
    public readonly ulong[] MappingLimit;
    public readonly ulong[] MappingOffset;
    public readonly int[] MappingFilename;
    public readonly int[] MappingBuildId;
    public readonly int[] LocationMapping;
    public readonly ulong[] LocationAddress;
    public readonly int[] LocationLineStart;
    public readonly int[] LocationLineCount;
    public readonly int[] LineFunction;
    public readonly long[] LineNumber;
    public readonly int[] NodeParent;
    public readonly int[] NodeLocation;

    public readonly int StringCount;
    public readonly int FunctionCount;
    public readonly int MappingCount;
    public readonly int LocationCount;
    public readonly int NodeCount;

    private SymbolSnapshot(SymbolTable t)
    {
        // Counts are read before the arrays: any array read afterwards holds at least these rows.
        StringCount = t.Strings.Count;
        FunctionCount = t.FunctionName.Count;
        MappingCount = t.MappingStart.Count;
        LocationCount = t.LocationMapping.Count;
        NodeCount = t.NodeParent.Count;
        Strings = t.Strings.RawArray;
        FunctionName = t.FunctionName.RawArray;
        FunctionSystemName = t.FunctionSystemName.RawArray;
        FunctionFilename = t.FunctionFilename.RawArray;
        FunctionStartLine = t.FunctionStartLine.RawArray;
        MappingStart = t.MappingStart.RawArray;
        MappingLimit = t.MappingLimit.RawArray;
        MappingOffset = t.MappingOffset.RawArray;
        MappingFilename = t.MappingFilename.RawArray;
        MappingBuildId = t.MappingBuildId.RawArray;
        LocationMapping = t.LocationMapping.RawArray;
        LocationAddress = t.LocationAddress.RawArray;
        LocationLineStart = t.LocationLineStart.RawArray;
        LocationLineCount = t.LocationLineCount.RawArray;
        LineFunction = t.LineFunction.RawArray;
        LineNumber = t.LineNumber.RawArray;
        NodeParent = t.NodeParent.RawArray;
        NodeLocation = t.NodeLocation.RawArray;
    }

    /// <summary>Call only while <paramref name="table"/> cannot be appended to (under the head's lock, or a block's table).</summary>
    public static SymbolSnapshot Of(SymbolTable table) => new(table);
}
