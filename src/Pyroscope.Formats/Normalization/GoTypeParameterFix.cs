using Pyroscope.Contracts.Google.V1;

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
    public static bool AppliesTo(string? spyName, Profile profile)
    {
        switch (spyName)
        {
            case "gospy":
                return true;
            case "dotnetspy" or "phpspy" or "pyspy" or "rbspy" or "nodespy" or "javaspy" or "grafana-agent.java" or "pyroscope-rs":
                return false;
        }
        var strings = profile.StringTable;
        for (var i = 0; i < profile.Function.Count; i++)
        {
            var file = profile.Function[i].Filename;
            if (file > 0 && file < strings.Count && strings[(int)file].EndsWith(".go", StringComparison.Ordinal))
            {
                return true;
            }
        }
        return false;
    }

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
    public static int Apply(Profile profile)
    {
        var strings = profile.StringTable;
        var changed = 0;
        for (var i = 0; i < strings.Count; i++)
        {
            var fixedName = DropTypeParameters(strings[i]);
            if (!ReferenceEquals(fixedName, strings[i]))
            {
                strings[i] = fixedName;
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
        for (var s = 0; s < profile.Sample.Count; s++)
        {
            var ids = profile.Sample[s].LocationId;
            for (var i = 0; i < ids.Count; i++)
            {
                if (locationIds.TryGetValue(ids[i], out var canonical))
                {
                    ids[i] = canonical;
                }
            }
        }
        return changed;
    }

    /// <summary>Keeps the first of each group of functions equal by text; returns dropped id → kept id.</summary>
    private static Dictionary<ulong, ulong> MergeFunctions(Profile profile)
    {
        var strings = profile.StringTable;
        var kept = new Dictionary<(string Name, string System, string File, long StartLine), ulong>();
        var replaced = new Dictionary<ulong, ulong>();
        var write = 0;
        for (var i = 0; i < profile.Function.Count; i++)
        {
            var f = profile.Function[i];
            var key = (Text(strings, f.Name), Text(strings, f.SystemName), Text(strings, f.Filename), f.StartLine);
            if (kept.TryGetValue(key, out var id))
            {
                replaced[f.Id] = id;
                continue;
            }
            kept[key] = f.Id;
            profile.Function[write++] = f;
        }
        TrimTo(profile.Function, write);
        return replaced;
    }

    /// <summary>Points lines at the kept functions, then keeps the first of each group of equal locations.</summary>
    private static Dictionary<ulong, ulong> MergeLocations(Profile profile, Dictionary<ulong, ulong> functionIds)
    {
        var replaced = new Dictionary<ulong, ulong>();
        if (functionIds.Count == 0)
        {
            return replaced;
        }
        var kept = new Dictionary<string, ulong>(StringComparer.Ordinal);
        var key = new System.Text.StringBuilder();
        var write = 0;
        for (var i = 0; i < profile.Location.Count; i++)
        {
            var location = profile.Location[i];
            key.Clear().Append(location.MappingId).Append('/').Append(location.Address).Append('/').Append(location.IsFolded ? 1 : 0);
            for (var l = 0; l < location.Line.Count; l++)
            {
                var line = location.Line[l];
                if (functionIds.TryGetValue(line.FunctionId, out var canonical))
                {
                    line.FunctionId = canonical;
                }
                key.Append('/').Append(line.FunctionId).Append(':').Append(line.Line_);
            }
            var text = key.ToString();
            if (kept.TryGetValue(text, out var id))
            {
                replaced[location.Id] = id;
                continue;
            }
            kept[text] = location.Id;
            profile.Location[write++] = location;
        }
        TrimTo(profile.Location, write);
        return replaced;
    }

    private static void TrimTo<T>(Google.Protobuf.Collections.RepeatedField<T> items, int count)
    {
        while (items.Count > count)
        {
            items.RemoveAt(items.Count - 1);
        }
    }

    private static string Text(Google.Protobuf.Collections.RepeatedField<string> strings, long index) =>
        index >= 0 && index < strings.Count ? strings[(int)index] : "";
}
