using Pyroscope.Model.Ingest;
namespace Pyroscope.Formats.Normalization;

/// <summary>
/// Upstream's Go fix-up (pkg/pprof/fix_go_profile.go, DropGoTypeParameters), applied by the distributor to Go
/// profiles only. Since Go 1.21 a generic function's name carries the GC shape it was compiled for
/// (<c>pkg.F[go.shape.int]</c>), and the runtime reports any instance's shape regardless of the call site, so
/// one function shows up under several names. The shape is replaced by <c>[...]</c> and the functions and
/// locations that become identical are merged; identical stacks then merge in the normaliser's projection.
/// </summary>
public static class GoTypeParameterFix
{
    private const string ShapePrefix = "[go.shape.";
    private const string Elided = "[...]";

    /// <summary>
    /// Upstream decides by the series' language: the spies it maps to a language (<c>gospy</c> is Go, the other
    /// listed ones are not), otherwise a guess from the profile. Our guess — functions in <c>.go</c> files — stands
    /// in for upstream's own heuristic and may differ from it on unusual profiles.
    /// </summary>
    public static bool AppliesTo(string? spyName, PprofProfile profile)
    {
        switch (spyName)
        {
            case "gospy":
                return true;
            case "dotnetspy" or "phpspy" or "pyspy" or "rbspy" or "nodespy" or "javaspy" or "grafana-agent.java" or "pyroscope-rs":
                return false;
        }
        var strings = profile.Strings;
        foreach (ref readonly var function in profile.Functions.Span)
        {
            var file = function.Filename;
            if (file > 0 && file < strings.Count && EndsWithGo(strings, (int)file))
            {
                return true;
            }
        }
        return false;
    }

    private static bool EndsWithGo(PprofStrings strings, int index) =>
        strings.TryGetUtf8(index, out var utf8) ? utf8.EndsWith(".go"u8) : strings[index].EndsWith(".go", StringComparison.Ordinal);

    /// <summary>
    /// Upstream's rewrite: the regular expression <c>\[go\.shape\..*\]</c> is greedy, so everything from the first
    /// <c>[go.shape.</c> to the last <c>]</c> after it becomes <c>[...]</c> (nested brackets included). Names without
    /// a shape, including ones already showing <c>[...]</c> or ordinary type arguments, are returned as is.
    /// </summary>
    public static string DropTypeParameters(string name)
    {
        var start = name.IndexOf(ShapePrefix, StringComparison.Ordinal);
        if (start < 0)
        {
            return name;
        }
        var end = name.LastIndexOf(']');
        if (end < start + ShapePrefix.Length)
        {
            return name;
        }
        return string.Concat(name.AsSpan(0, start), Elided, name.AsSpan(end + 1));
    }

    /// <summary>Rewrites the names and merges what became identical; returns how many strings changed.</summary>
    public static int Apply(PprofProfile profile)
    {
        var strings = profile.Strings;
        var changed = 0;
        for (var i = 0; i < strings.Count; i++)
        {
            if (strings.TryGetUtf8(i, out var utf8) && utf8.IndexOf("[go.shape."u8) < 0)
            {
                continue;
            }
            var name = strings[i];
            var fixedName = DropTypeParameters(name);
            if (!ReferenceEquals(fixedName, name))
            {
                strings.Set(i, fixedName);
                changed++;
            }
        }
        if (changed == 0)
        {
            return 0;
        }
        var functionIds = MergeFunctions(profile);
        var locationIds = MergeLocations(profile, functionIds);
        if (locationIds.Count == 0)
        {
            return changed;
        }
        foreach (ref var id in profile.SampleLocationIds.Span)
        {
            if (locationIds.TryGetValue(id, out var canonical))
            {
                id = canonical;
            }
        }
        return changed;
    }

    /// <summary>Keeps the first of each group of functions equal by text; returns dropped id → kept id.</summary>
    private static Dictionary<ulong, ulong> MergeFunctions(PprofProfile profile)
    {
        var strings = profile.Strings;
        var kept = new Dictionary<(string Name, string System, string File, long StartLine), ulong>();
        var replaced = new Dictionary<ulong, ulong>();
        var functions = profile.Functions.Span;
        var write = 0;
        for (var i = 0; i < functions.Length; i++)
        {
            var f = functions[i];
            var key = (strings.GetOrEmpty(f.Name), strings.GetOrEmpty(f.SystemName), strings.GetOrEmpty(f.Filename), f.StartLine);
            if (kept.TryGetValue(key, out var id))
            {
                replaced[f.Id] = id;
                continue;
            }
            kept[key] = f.Id;
            functions[write++] = f;
        }
        profile.Functions.Truncate(write);
        return replaced;
    }

    /// <summary>Points lines at the kept functions, then keeps the first of each group of equal locations.</summary>
    private static Dictionary<ulong, ulong> MergeLocations(PprofProfile profile, Dictionary<ulong, ulong> functionIds)
    {
        var replaced = new Dictionary<ulong, ulong>();
        if (functionIds.Count == 0)
        {
            return replaced;
        }
        var kept = new Dictionary<string, ulong>(StringComparer.Ordinal);
        var key = new System.Text.StringBuilder();
        var locations = profile.Locations.Span;
        var lines = profile.Lines.Span;
        var write = 0;
        for (var i = 0; i < locations.Length; i++)
        {
            var location = locations[i];
            key.Clear().Append(location.MappingId).Append('/').Append(location.Address).Append('/').Append(location.IsFolded ? 1 : 0);
            for (var l = location.LineStart; l < location.LineStart + location.LineCount; l++)
            {
                ref var line = ref lines[l];
                if (functionIds.TryGetValue(line.FunctionId, out var canonical))
                {
                    line.FunctionId = canonical;
                }
                key.Append('/').Append(line.FunctionId).Append(':').Append(line.Line);
            }
            var text = key.ToString();
            if (kept.TryGetValue(text, out var id))
            {
                replaced[location.Id] = id;
                continue;
            }
            kept[text] = location.Id;
            locations[write++] = location;
        }
        profile.Locations.Truncate(write);
        return replaced;
    }
}
