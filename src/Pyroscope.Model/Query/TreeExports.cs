using System.Buffers;
using System.Text;
using Google.Protobuf;
using Pprof = Pyroscope.Contracts.Google.V1;
using QuerierV1 = Pyroscope.Contracts.Querier.V1;

namespace Pyroscope.Model.Query;

/// <summary>Renders a <see cref="StackTree"/> into the formats clients ask for.</summary>
public static class TreeExports
{
    /// <summary>querier.v1.FlameGraph.</summary>
    public static QuerierV1.FlameGraph ToProto(this FlameGraphData graph)
    {
        var proto = new QuerierV1.FlameGraph { Total = graph.Total, MaxSelf = graph.MaxSelf };
        proto.Names.AddRange(graph.Names);
        foreach (var level in graph.Levels)
        {
            var l = new QuerierV1.Level();
            l.Values.AddRange(level);
            proto.Levels.Add(l);
        }
        return proto;
    }

    public static QuerierV1.FlameGraphDiff ToProto(this FlameGraphDiffData graph)
    {
        var proto = new QuerierV1.FlameGraphDiff
        {
            Total = graph.Total,
            MaxSelf = graph.MaxSelf,
            LeftTicks = graph.LeftTicks,
            RightTicks = graph.RightTicks,
        };
        proto.Names.AddRange(graph.Names);
        foreach (var level in graph.Levels)
        {
            var l = new QuerierV1.Level();
            l.Values.AddRange(level);
            proto.Levels.Add(l);
        }
        return proto;
    }

    /// <summary>
    /// Upstream's function-name tree bytes (what SelectMergeStacktraces returns for format=TREE):
    /// depth-first from a nameless virtual root, each node as
    /// <c>uvarint(len(name)) name uvarint(self) uvarint(child_count)</c>, children of a node
    /// following in reverse name order; nodes below the max-nodes threshold folded into "other".
    /// </summary>
    public static byte[] ToTreeBytes(StackTree tree, long maxNodes)
    {
        if (tree.NodeCount == 0)
        {
            return [];
        }
        var minValue = tree.MinValue(maxNodes);
        var otherId = tree.Intern(StackTree.OtherName);
        var output = new ArrayBufferWriter<byte>(Math.Max(256, tree.NodeCount * 16));
        // Node -1 is a synthetic "other"; Extra is its value, or for a real node self it absorbs.
        var stack = new Stack<(int Node, long Extra)>();
        var kept = new List<(int Node, long Extra, string Name)>();
        stack.Push((StackTree.Root, 0));
        while (stack.TryPop(out var item))
        {
            if (item.Node < 0)
            {
                WriteNode(output, StackTree.OtherName, item.Extra);
                WriteUvarint(output, 0);
                continue;
            }
            var node = item.Node;
            WriteNode(output, tree.NodeName(node), tree.SelfOf(node) + item.Extra);
            kept.Clear();
            long other = 0;
            var existingOther = -1;
            foreach (var child in tree.Children(node))
            {
                var isOther = tree.NameIdOf(child) == otherId;
                if (tree.TotalOf(child) >= minValue || isOther)
                {
                    if (isOther)
                    {
                        existingOther = kept.Count;
                    }
                    kept.Add((child, 0, tree.NodeName(child)));
                }
                else
                {
                    other = Saturating.Add(other, tree.TotalOf(child));
                }
            }
            if (other > 0)
            {
                if (existingOther >= 0)
                {
                    // As upstream: an existing "other" frame absorbs the folded siblings as its self.
                    var (n, _, name) = kept[existingOther];
                    kept[existingOther] = (n, other, name);
                }
                else
                {
                    var at = 0;
                    while (at < kept.Count && string.CompareOrdinal(kept[at].Name, StackTree.OtherName) < 0)
                    {
                        at++;
                    }
                    kept.Insert(at, (-1, other, StackTree.OtherName));
                }
            }
            WriteUvarint(output, (ulong)kept.Count);
            foreach (var k in kept)
            {
                stack.Push((k.Node, k.Extra));
            }
        }
        return output.WrittenSpan.ToArray();
    }

    private static void WriteNode(ArrayBufferWriter<byte> output, string name, long self)
    {
        var byteCount = Encoding.UTF8.GetByteCount(name);
        WriteUvarint(output, (ulong)byteCount);
        var span = output.GetSpan(byteCount);
        Encoding.UTF8.GetBytes(name, span);
        output.Advance(byteCount);
        WriteUvarint(output, (ulong)Math.Max(0, self));
    }

    private static void WriteUvarint(ArrayBufferWriter<byte> output, ulong value)
    {
        var span = output.GetSpan(10);
        var i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }
        span[i++] = (byte)value;
        output.Advance(i);
    }

    /// <summary>Reads upstream tree bytes back into a tree (merging trees received from elsewhere, tests).</summary>
    public static StackTree FromTreeBytes(ReadOnlySpan<byte> bytes)
    {
        var tree = new StackTree();
        if (bytes.Length < 2)
        {
            return tree;
        }
        var offset = 0;
        // remaining[0] counts the virtual root's unread children; remaining[i] those of path[i-1].
        var path = new List<int>();
        var remaining = new List<long>();
        var first = true;
        while (offset < bytes.Length)
        {
            var nameLen = ReadUvarint(bytes, ref offset);
            if (nameLen > (ulong)(bytes.Length - offset))
            {
                throw new FormatException("malformed tree bytes: name past the end");
            }
            var name = Encoding.UTF8.GetString(bytes.Slice(offset, (int)nameLen));
            offset += (int)nameLen;
            var self = (long)ReadUvarint(bytes, ref offset);
            var children = (long)ReadUvarint(bytes, ref offset);
            if (first)
            {
                first = false;
                remaining.Add(children);
                continue;
            }
            while (remaining.Count > 0 && remaining[^1] == 0)
            {
                remaining.RemoveAt(remaining.Count - 1);
                if (path.Count > 0 && remaining.Count > 0)
                {
                    path.RemoveAt(path.Count - 1);
                }
            }
            if (remaining.Count == 0)
            {
                throw new FormatException("malformed tree bytes: more nodes than announced");
            }
            remaining[^1]--;
            path.Add(tree.Intern(name));
            tree.Add(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(path), self);
            remaining.Add(children);
        }
        return tree;

        static ulong ReadUvarint(ReadOnlySpan<byte> b, ref int offset)
        {
            ulong result = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (offset >= b.Length)
                {
                    throw new FormatException("malformed tree bytes: truncated varint");
                }
                var x = b[offset++];
                result |= (ulong)(x & 0x7f) << shift;
                if (x < 0x80)
                {
                    return result;
                }
            }
            throw new FormatException("malformed tree bytes: varint overflow");
        }
    }
}
