using System.Text;

namespace Pyroscope.Testing;

/// <summary>
/// Writes the legacy agents' binary bodies from folded stacks, following upstream's format description
/// (pkg/og/structs/transporttrie Serialize, pkg/og/storage/tree serialisation) and sharing no code with the
/// decoder under test. Every node is written pre-order as <c>uvarint len(name), name, uvarint value,
/// uvarint len(children)</c>, children following their parent.
/// </summary>
public static class LegacyTreeEncoder
{
    /// <summary>Folded text → stack ("a;b;c") → summed value, skipping blank lines.</summary>
    public static Dictionary<string, long> ParseFolded(string text) => FoldedText.Parse(text);

    private sealed class Node(byte[] name)
    {
        public byte[] Name { get; set; } = name;

        public long Value { get; set; }

        public List<Node> Children { get; set; } = [];
    }

    /// <summary>
    /// A transport trie: a radix tree over the UTF-8 keys, so nodes hold key fragments (not whole frames) and
    /// a key's value sits on the node where the key ends.
    /// </summary>
    public static byte[] Trie(IReadOnlyDictionary<string, long> stacks)
    {
        var root = new Node([]);
        foreach (var (stack, value) in stacks)
        {
            InsertRadix(root, Encoding.UTF8.GetBytes(stack), value);
        }
        var output = new MemoryStream();
        Write(output, root);
        return output.ToArray();
    }

    /// <summary>A frame tree: an unnamed root, one node per frame, values as self samples.</summary>
    public static byte[] Tree(IReadOnlyDictionary<string, long> stacks)
    {
        var root = new Node([]);
        foreach (var (stack, value) in stacks)
        {
            var node = root;
            foreach (var frame in stack.Split(';'))
            {
                var name = Encoding.UTF8.GetBytes(frame);
                var child = node.Children.Find(c => c.Name.AsSpan().SequenceEqual(name));
                if (child is null)
                {
                    child = new Node(name);
                    node.Children.Add(child);
                }
                node = child;
            }
            node.Value += value;
        }
        var output = new MemoryStream();
        Write(output, root);
        return output.ToArray();
    }

    private static void InsertRadix(Node node, ReadOnlySpan<byte> key, long value)
    {
        while (true)
        {
            if (key.IsEmpty)
            {
                node.Value += value;
                return;
            }
            Node? next = null;
            foreach (var child in node.Children)
            {
                var common = key.CommonPrefixLength(child.Name);
                if (common == 0)
                {
                    continue;
                }
                if (common < child.Name.Length)
                {
                    // Split the child: the shared part becomes a new node above it.
                    var rest = new Node(child.Name[common..]) { Value = child.Value, Children = child.Children };
                    child.Name = child.Name[..common];
                    child.Value = 0;
                    child.Children = [rest];
                }
                next = child;
                key = key[common..];
                break;
            }
            if (next is null)
            {
                node.Children.Add(new Node(key.ToArray()) { Value = value });
                return;
            }
            node = next;
        }
    }

    private static void Write(Stream output, Node node)
    {
        WriteUvarint(output, (ulong)node.Name.Length);
        output.Write(node.Name);
        WriteUvarint(output, (ulong)node.Value);
        WriteUvarint(output, (ulong)node.Children.Count);
        foreach (var child in node.Children)
        {
            Write(output, child);
        }
    }

    /// <summary>Unsigned LEB128, as Go's binary.PutUvarint.</summary>
    public static void WriteUvarint(Stream output, ulong value)
    {
        while (value >= 0x80)
        {
            output.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        output.WriteByte((byte)value);
    }
}
