using Pyroscope.Contracts.Google.V1;

namespace Pyroscope.LoadTest.Analysis;

/// <summary>A pprof profile's samples as named stacks, for the same summaries as the render API's collapsed output.</summary>
public static class PprofStacks
{
    public static CollapsedStacks ToCollapsed(Profile profile, int valueIndex)
    {
        var functions = new Dictionary<ulong, string>();
        foreach (var function in profile.Function)
        {
            functions[function.Id] = profile.StringTable[(int)function.Name];
        }
        // A location's frames, innermost (inlined) first, as pprof stores them.
        var locations = new Dictionary<ulong, string[]>();
        foreach (var location in profile.Location)
        {
            var names = new string[Math.Max(1, location.Line.Count)];
            names[0] = $"0x{location.Address:x}";
            for (var i = 0; i < location.Line.Count; i++)
            {
                names[i] = functions.GetValueOrDefault(location.Line[i].FunctionId, "[unknown]");
            }
            locations[location.Id] = names;
        }
        var result = new CollapsedStacks();
        var frames = new List<string>();
        foreach (var sample in profile.Sample)
        {
            frames.Clear();
            // Leaf first in pprof; collapsed stacks are root first.
            for (var i = sample.LocationId.Count - 1; i >= 0; i--)
            {
                var names = locations[sample.LocationId[i]];
                for (var j = names.Length - 1; j >= 0; j--)
                {
                    frames.Add(names[j]);
                }
            }
            result.Add([.. frames], sample.Value[valueIndex]);
        }
        return result;
    }
}
