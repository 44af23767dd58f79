using System.Buffers;
using System.Text;
using Pyroscope.Contracts.Google.V1;

namespace Pyroscope.Formats.Legacy;

/// <summary>
/// The two binary formats of the original Pyroscope agents (<c>format=trie</c> / <c>format=tree</c>), converted to
/// pprof like folded text. Both are a pre-order walk of a tree where every node is
/// <c>uvarint nameLength, name bytes, uvarint value, uvarint childCount</c>:
/// <list type="bullet">
/// <item>trie: names are byte fragments of a folded key (<c>a;b;c</c>) with shared prefixes; a node's key is the
/// concatenation of the names on its path, its value the samples of exactly that key;</item>
/// <item>tree: names are whole frames; the first node is an unnamed root, every other node's value is its
/// self samples for the stack from the root's child down to it.</item>
/// </list>
/// Untrusted input: every length and count is checked against the bytes left, nesting is walked with an explicit
/// stack (no recursion) and capped, and the total of frames materialised is budgeted so a long chain cannot turn
/// a small body into quadratic work.
/// </summary>
public static class LegacyTreeParser
{
    /// <summary>Deeper nesting is refused: far above any real profiler's stack limit, low enough to bound work.</summary>
    public const int MaxNesting = 16_384;

    /// <summary>Cap on frames (tree) or key bytes (trie) expanded into samples, summed over all samples.</summary>
    public const long MaxExpandedFrames = 32L << 20;

    // Smallest possible node: three one-byte varints (empty name, value, child count).
    private const int MinNodeBytes = 3;

    public static Profile ParseTrie(ReadOnlySpan<byte> body, LegacyProfileType type, int sampleRate, long fromNanos, long untilNanos)
    {
        var builder = new StackProfileBuilder();
        var reader = new NodeReader(body, "trie");
        var key = ArrayPool<byte>.Shared.Rent(256);
        var chars = ArrayPool<char>.Shared.Rent(256);
        var pending = new Stack<(ulong Remaining, int KeyLength)>();
        long expanded = 0;
        try
        {
            var keyLength = 0;
            while (true)
            {
                var offset = reader.Offset;
                var name = reader.ReadName();
                if (keyLength + name.Length > key.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(key.Length * 2, keyLength + name.Length));
                    key.AsSpan(0, keyLength).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(key);
                    key = bigger;
                }
                name.CopyTo(key.AsSpan(keyLength));
                keyLength += name.Length;
                var value = reader.ReadValue();
                var children = reader.ReadChildCount();
                if (value > 0)
                {
                    expanded += keyLength;
                    CheckBudget(expanded, "trie", offset);
                    builder.BeginSample();
                    PushFrames(builder, key.AsSpan(0, keyLength), ref chars, "trie", offset);
                    builder.CommitSample(value);
                }
                if (children > 0)
                {
                    pending.Push((children, keyLength));
                    CheckNesting(pending.Count, "trie", offset);
                }
                // Climb to the next ancestor that still has unread children.
                while (pending.Count > 0 && pending.Peek().Remaining == 0)
                {
                    pending.Pop();
                }
                if (pending.Count == 0)
                {
                    break;
                }
                var (remaining, parentKeyLength) = pending.Pop();
                pending.Push((remaining - 1, parentKeyLength));
                keyLength = parentKeyLength;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(key);
            ArrayPool<char>.Shared.Return(chars);
        }
        return builder.BuildLegacy(type, sampleRate, fromNanos, untilNanos);
    }

    public static Profile ParseTree(ReadOnlySpan<byte> body, LegacyProfileType type, int sampleRate, long fromNanos, long untilNanos)
    {
        var builder = new StackProfileBuilder();
        var reader = new NodeReader(body, "tree");
        var chars = ArrayPool<char>.Shared.Rent(256);
        var pending = new Stack<(ulong Remaining, int Depth)>();
        long expanded = 0;
        try
        {
            // The root carries no frame: upstream drops its name and its self value.
            reader.ReadName();
            reader.ReadValue();
            var rootChildren = reader.ReadChildCount();
            if (rootChildren > 0)
            {
                pending.Push((rootChildren, 0));
            }
            builder.BeginSample();
            while (pending.Count > 0)
            {
                var (remaining, depth) = pending.Pop();
                if (remaining == 0)
                {
                    continue;
                }
                pending.Push((remaining - 1, depth));
                builder.TruncateStack(depth);
                var offset = reader.Offset;
                PushFrames(builder, reader.ReadName(), ref chars, "tree", offset);
                var self = reader.ReadValue();
                var children = reader.ReadChildCount();
                if (self > 0 && builder.Depth > 0)
                {
                    expanded += builder.Depth;
                    CheckBudget(expanded, "tree", offset);
                    builder.CommitSample(self);
                }
                if (children > 0)
                {
                    pending.Push((children, builder.Depth));
                    CheckNesting(pending.Count, "tree", offset);
                }
            }
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
        }
        return builder.BuildLegacy(type, sampleRate, fromNanos, untilNanos);
    }

    private static void CheckNesting(int nesting, string format, int offset)
    {
        if (nesting > MaxNesting)
        {
            throw new ProfileFormatException($"{format}: node at byte offset {offset} is nested deeper than {MaxNesting} levels");
        }
    }

    private static void CheckBudget(long expanded, string format, int offset)
    {
        if (expanded > MaxExpandedFrames)
        {
            throw new ProfileFormatException($"{format}: stacks expand to more than {MaxExpandedFrames} {(format == "trie" ? "key bytes" : "frames")} (at byte offset {offset}); send it as pprof");
        }
    }

    /// <summary>Splits a folded fragment on ';' and pushes the non-empty frames, like the folded parser.</summary>
    private static void PushFrames(StackProfileBuilder builder, ReadOnlySpan<byte> utf8, ref char[] chars, string format, int offset)
    {
        if (utf8.IsEmpty)
        {
            return;
        }
        if (chars.Length < utf8.Length)
        {
            ArrayPool<char>.Shared.Return(chars);
            chars = ArrayPool<char>.Shared.Rent(utf8.Length);
        }
        int count;
        try
        {
            count = Utf8.GetChars(utf8, chars);
        }
        catch (DecoderFallbackException)
        {
            throw new ProfileFormatException($"{format}: name of the node at byte offset {offset} is not valid UTF-8");
        }
        var text = chars.AsSpan(0, count);
        foreach (var range in text.Split(';'))
        {
            var frame = text[range];
            if (!frame.IsEmpty)
            {
                if (builder.Depth >= MaxNesting)
                {
                    throw new ProfileFormatException($"{format}: stack at byte offset {offset} is deeper than {MaxNesting} frames");
                }
                builder.PushFrame(frame);
            }
        }
    }

    private static readonly UTF8Encoding Utf8 = new(false, throwOnInvalidBytes: true);

    /// <summary>Reads the fields of one node, naming the field and byte offset when the body is cut or lies.</summary>
    private ref struct NodeReader(ReadOnlySpan<byte> body, string format)
    {
        private readonly ReadOnlySpan<byte> _body = body;
        private int _position;

        public readonly int Offset => _position;

        public ReadOnlySpan<byte> ReadName()
        {
            var at = _position;
            var length = ReadUvarint("name length");
            var left = _body.Length - _position;
            if (length > (ulong)left)
            {
                throw new ProfileFormatException($"{format}: name at byte offset {at} declares {length} bytes but only {left} remain");
            }
            var name = _body.Slice(_position, (int)length);
            _position += (int)length;
            return name;
        }

        public long ReadValue()
        {
            var at = _position;
            var value = ReadUvarint("value");
            if (value > long.MaxValue)
            {
                throw new ProfileFormatException($"{format}: value {value} at byte offset {at} is out of range");
            }
            return (long)value;
        }

        public ulong ReadChildCount()
        {
            var at = _position;
            var count = ReadUvarint("child count");
            var possible = (ulong)((_body.Length - _position) / MinNodeBytes);
            if (count > possible)
            {
                throw new ProfileFormatException($"{format}: node declares {count} children at byte offset {at} but only {_body.Length - _position} bytes remain");
            }
            return count;
        }

        private ulong ReadUvarint(string what)
        {
            var at = _position;
            ulong result = 0;
            for (var shift = 0; shift < 70; shift += 7)
            {
                if (_position >= _body.Length)
                {
                    throw new ProfileFormatException($"{format}: body ends inside the {what} at byte offset {at} (truncated)");
                }
                var b = _body[_position++];
                if (shift == 63 && b > 1)
                {
                    break;
                }
                result |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return result;
                }
            }
            throw new ProfileFormatException($"{format}: {what} at byte offset {at} is not a valid varint (overflows 64 bits)");
        }
    }
}
