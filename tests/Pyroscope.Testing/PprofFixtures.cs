using Pyroscope.Contracts.Google.V1;
using Pyroscope.Model;

namespace Pyroscope.Testing;

/// <summary>Real pprof profiles from ../shared/fixtures, decoded here independently of the code under test.</summary>
public static class PprofFixtures
{
    public static Profile LoadPprof(string relative) => ExpectedStacks.ParsePprof(File.ReadAllBytes(RepositoryPaths.Fixture(relative)));

    /// <summary>Profile type ids of a pprof, one per sample type, as Pyroscope names them.</summary>
    public static List<ProfileTypeId> TypesOf(Profile p, string name)
    {
        var result = new List<ProfileTypeId>();
        foreach (var st in p.SampleType)
        {
            result.Add(new ProfileTypeId(name, p.StringTable[(int)st.Type], p.StringTable[(int)st.Unit],
                p.StringTable[(int)(p.PeriodType?.Type ?? 0)], p.StringTable[(int)(p.PeriodType?.Unit ?? 0)]));
        }
        return result;
    }

    /// <summary>Stacks root first with their value for one sample type.</summary>
    public static List<(string[] Stack, long Value)> Stacks(Profile p, int sampleTypeIndex)
    {
        var locations = p.Location.ToDictionary(l => l.Id);
        var functions = p.Function.ToDictionary(f => f.Id);
        var result = new List<(string[], long)>();
        foreach (var s in p.Sample)
        {
            var leafFirst = new List<string>();
            foreach (var id in s.LocationId)
            {
                var loc = locations[id];
                foreach (var line in loc.Line)
                {
                    leafFirst.Add(p.StringTable[(int)functions[line.FunctionId].Name]);
                }
                if (loc.Line.Count == 0)
                {
                    leafFirst.Add(loc.Address.ToString("x"));
                }
            }
            leafFirst.Reverse();
            result.Add((leafFirst.ToArray(), s.Value[sampleTypeIndex]));
        }
        return result;
    }

    /// <summary>Sum per folded stack ("a;b;c"), skipping non-positive values as the tree does.</summary>
    public static Dictionary<string, long> Folded(IEnumerable<(string[] Stack, long Value)> stacks)
    {
        var d = new Dictionary<string, long>();
        foreach (var (stack, value) in stacks)
        {
            if (value <= 0 || stack.Length == 0)
            {
                continue;
            }
            var key = string.Join(';', stack);
            d[key] = d.GetValueOrDefault(key) + value;
        }
        return d;
    }
}
