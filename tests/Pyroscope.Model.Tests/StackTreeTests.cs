using Pyroscope.Model.Query;

namespace Pyroscope.Model.Tests;

/// <summary>
/// StackTree caches whole stacks by hash and derives totals lazily; these check it against a plain
/// path → value model so a cache or bookkeeping mistake shows up as a wrong node value.
/// </summary>
public class StackTreeTests
{
    [Fact]
    public void Many_repeated_and_prefix_stacks_match_a_naive_model()
    {
        var random = new Random(7);
        var names = new string[300];
        for (var i = 0; i < names.Length; i++)
        {
            names[i] = $"pkg{i % 11}.Function{i}";
        }
        var tree = new StackTree(capacity: 16);
        var expectedSelf = new Dictionary<string, long>(StringComparer.Ordinal);
        // Feed the tree through several "sources", each interning names in its own order, as readers do.
        for (var source = 0; source < 6; source++)
        {
            var order = new int[names.Length];
            for (var i = 0; i < order.Length; i++)
            {
                order[i] = tree.Intern(names[(i * 7 + source * 31) % names.Length]);
            }
            for (var s = 0; s < 5000; s++)
            {
                var depth = random.Next(1, 12);
                var stack = new int[depth];
                var path = new List<string>(depth);
                for (var d = 0; d < depth; d++)
                {
                    // Few distinct shallow frames so stacks share prefixes and repeat.
                    var name = names[random.Next(Math.Min(names.Length, 2 + d * 3))];
                    stack[d] = tree.Intern(name);
                    path.Add(name);
                }
                var value = random.Next(-2, 50);
                tree.Add(stack, value);
                if (value > 0)
                {
                    var key = string.Join(';', path);
                    expectedSelf[key] = expectedSelf.GetValueOrDefault(key) + value;
                }
            }
        }

        var actualSelf = new Dictionary<string, long>(StringComparer.Ordinal);
        long expectedTotal = 0;
        foreach (var v in expectedSelf.Values)
        {
            expectedTotal += v;
        }
        for (var node = 1; node <= tree.NodeCount; node++)
        {
            if (tree.SelfOf(node) == 0)
            {
                continue;
            }
            var path = new List<string>();
            for (var n = node; n != StackTree.Root; n = tree.ParentOf(n))
            {
                path.Insert(0, tree.NodeName(n));
            }
            actualSelf.Add(string.Join(';', path), tree.SelfOf(node));
        }
        Assert.Equal(expectedSelf.Count, actualSelf.Count);
        foreach (var (path, value) in expectedSelf)
        {
            Assert.Equal(value, actualSelf[path]);
        }
        Assert.Equal(expectedTotal, tree.Total);
    }

    [Fact]
    public void Stacks_of_equal_frames_but_different_length_stay_apart()
    {
        var tree = new StackTree();
        var a = tree.Intern("a");
        tree.Add([a], 1);
        tree.Add([a, a], 10);
        tree.Add([a, a, a], 100);
        tree.Add([a, a], 1000);

        Assert.Equal(3, tree.NodeCount);
        Assert.Equal(1, tree.SelfOf(1));
        Assert.Equal(1010, tree.SelfOf(2));
        Assert.Equal(100, tree.SelfOf(3));
        Assert.Equal(1111, tree.TotalOf(1));
        Assert.Equal(1110, tree.TotalOf(2));
    }

    [Fact]
    public void Totals_follow_adds_and_merges_after_being_read()
    {
        var tree = new StackTree(capacity: 16);
        Assert.Equal(0, tree.Total);
        tree.Add(5, "main", "work");
        Assert.Equal(5, tree.Total);
        // Grow past the initial capacity after totals were computed once.
        for (var i = 0; i < 100; i++)
        {
            tree.Add(1, "main", $"f{i}");
        }
        Assert.Equal(105, tree.Total);
        var other = new StackTree();
        other.Add(7, "main", "work");
        other.Add(3, "other-root");
        tree.Merge(other);
        Assert.Equal(115, tree.Total);
        Assert.True(tree.TryGetNameId("work", out var work));
        Assert.Equal("work", tree.NameOf(work));
        Assert.False(tree.TryGetNameId("missing", out _));
        Assert.Equal(2, tree.NameCount - 100 - 1);
    }
}
