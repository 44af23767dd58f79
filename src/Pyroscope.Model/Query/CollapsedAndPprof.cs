using System.Text;
using Pprof = Pyroscope.Contracts.Google.V1;

namespace Pyroscope.Model.Query;

/// <summary>Stack-by-stack exports: folded text and pprof.</summary>
public static class StackExports
{
    /// <summary>Visits every stack that has self value (root first), folding nodes under the threshold into "other".</summary>
    public delegate void StackVisitor(ReadOnlySpan<int> rootToLeafNameIds, long self);

    public static void ForEachStack(StackTree tree, long maxNodes, StackVisitor visit)
    {
        var minValue = tree.MinValue(maxNodes);
        var otherId = tree.Intern(StackTree.OtherName);
        var path = new List<int>(64);
        // Depth-first; a negative entry is a synthetic "other" whose value is kept alongside.
        var stack = new Stack<(int Node, int Depth, long Other)>();
        foreach (var child in Reverse(tree.Children(StackTree.Root)))
        {
            stack.Push((child, 0, 0));
        }
        PushOther(tree, StackTree.Root, 0, minValue, stack, out _);
        var ids = new int[64];
        while (stack.TryPop(out var item))
        {
            while (path.Count > item.Depth)
            {
                path.RemoveAt(path.Count - 1);
            }
            if (item.Node < 0)
            {
                path.Add(otherId);
                Emit(path, item.Other);
                continue;
            }
            if (tree.TotalOf(item.Node) < minValue)
            {
                continue; // folded into the parent's "other"
            }
            path.Add(tree.NameIdOf(item.Node));
            var self = tree.SelfOf(item.Node);
            if (self > 0)
            {
                Emit(path, self);
            }
            PushOther(tree, item.Node, item.Depth + 1, minValue, stack, out _);
            foreach (var child in Reverse(tree.Children(item.Node)))
            {
                stack.Push((child, item.Depth + 1, 0));
            }
        }

        void Emit(List<int> p, long value)
        {
            if (ids.Length < p.Count)
            {
                ids = new int[p.Count * 2];
            }
            p.CopyTo(ids);
            visit(ids.AsSpan(0, p.Count), value);
        }
    }

    private static void PushOther(StackTree tree, int node, int depth, long minValue, Stack<(int, int, long)> stack, out long other)
    {
        other = 0;
        foreach (var child in tree.Children(node))
        {
            if (tree.TotalOf(child) < minValue)
            {
                other += tree.TotalOf(child);
            }
        }
        if (other > 0)
        {
            stack.Push((-1, depth, other));
        }
    }

    private static int[] Reverse(ReadOnlySpan<int> span)
    {
        var a = span.ToArray();
        Array.Reverse(a);
        return a;
    }

    /// <summary>Folded stacks, <c>root;child;leaf value</c> one a line.</summary>
    public static string ToCollapsed(StackTree tree, long maxNodes = 0)
    {
        var sb = new StringBuilder();
        ForEachStack(tree, maxNodes, (ids, self) =>
        {
            for (var i = 0; i < ids.Length; i++)
            {
                if (i > 0)
                {
                    sb.Append(';');
                }
                sb.Append(tree.NameOf(ids[i]));
            }
            sb.Append(' ').Append(self).Append('\n');
        });
        return sb.ToString();
    }

    /// <summary>
    /// A pprof profile with one function and one location per frame name and one sample per stack,
    /// valued in <paramref name="type"/>'s sample type: all a merged tree knows. The API's exports carry the
    /// stored symbols instead (<see cref="PprofMerger"/>); this stays for holders of a tree only and as the
    /// export benchmark's baseline.
    /// </summary>
    public static Pprof.Profile ToPprof(StackTree tree, ProfileTypeId type, long maxNodes, TimeRange range)
    {
        var profile = new Pprof.Profile();
        var strings = new Dictionary<string, long>(StringComparer.Ordinal);
        long Str(string s)
        {
            if (!strings.TryGetValue(s, out var id))
            {
                id = profile.StringTable.Count;
                profile.StringTable.Add(s);
                strings.Add(s, id);
            }
            return id;
        }
        Str(string.Empty);
        profile.SampleType.Add(new Pprof.ValueType { Type = Str(type.SampleType), Unit = Str(type.SampleUnit) });
        profile.PeriodType = new Pprof.ValueType { Type = Str(type.PeriodType), Unit = Str(type.PeriodUnit) };
        profile.TimeNanos = range.StartMs * 1_000_000;
        profile.DurationNanos = Math.Max(0, range.EndMs - range.StartMs) * 1_000_000;

        // Location id (1-based) per tree name id; 0 = not yet emitted.
        var locationOf = new ulong[tree.NameCount + 1];
        ForEachStack(tree, maxNodes, (ids, self) =>
        {
            var sample = new Pprof.Sample();
            for (var i = ids.Length - 1; i >= 0; i--)
            {
                var nameId = ids[i];
                if (nameId >= locationOf.Length)
                {
                    Array.Resize(ref locationOf, tree.NameCount + 1);
                }
                var loc = locationOf[nameId];
                if (loc == 0)
                {
                    loc = (ulong)profile.Location.Count + 1;
                    locationOf[nameId] = loc;
                    profile.Function.Add(new Pprof.Function { Id = loc, Name = Str(tree.NameOf(nameId)) });
                    var location = new Pprof.Location { Id = loc };
                    location.Line.Add(new Pprof.Line { FunctionId = loc });
                    profile.Location.Add(location);
                }
                sample.LocationId.Add(loc);
            }
            sample.Value.Add(self);
            profile.Sample.Add(sample);
        });
        return profile;
    }
}
