using System.Buffers;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;

namespace Pyroscope.Model;

public readonly record struct Label(string Name, string Value);

/// <summary>
/// An immutable set of labels sorted by name, with at most one value per name.
/// Its <see cref="Fingerprint"/> identifies a series everywhere (distributor routing, head index, blocks).
/// </summary>
public sealed class LabelSet : IEquatable<LabelSet>
{
    public static readonly LabelSet Empty = new([]);

    private readonly Label[] _labels;

    private LabelSet(Label[] sortedUnique)
    {
        _labels = sortedUnique;
        Fingerprint = ComputeFingerprint(sortedUnique);
    }

    public ulong Fingerprint { get; }

    public int Count => _labels.Length;

    public ReadOnlySpan<Label> Labels => _labels;

    public Label this[int index] => _labels[index];

    /// <summary>Builds a set from labels in any order; a later duplicate name overrides an earlier one.</summary>
    public static LabelSet From(IEnumerable<Label> labels) => labels switch
    {
        Label[] array => From(array.AsSpan()),
        List<Label> list => From(CollectionsMarshal.AsSpan(list)),
        _ => From([.. labels]),
    };

    /// <inheritdoc cref="From(IEnumerable{Label})"/>
    public static LabelSet From(params ReadOnlySpan<Label> labels)
    {
        if (labels.Length > InsertionSortLimit)
        {
            var byName = new Dictionary<string, string>(labels.Length, StringComparer.Ordinal);
            foreach (var label in labels)
            {
                byName[label.Name] = label.Value;
            }
            return FromDictionary(byName);
        }
        // A series has a few labels (upstream allows 30 names): inserting each in order costs less than a dictionary
        // and a sort, and allocates only the set's own array. Built per series of every push.
        var sorted = new Label[labels.Length];
        var count = 0;
        foreach (var label in labels)
        {
            var at = IndexOf(sorted.AsSpan(0, count), label.Name);
            if (at >= 0)
            {
                sorted[at] = label;
                continue;
            }
            at = ~at;
            Array.Copy(sorted, at, sorted, at + 1, count - at);
            sorted[at] = label;
            count++;
        }
        if (count < sorted.Length)
        {
            Array.Resize(ref sorted, count);
        }
        return new LabelSet(sorted);
    }

    private const int InsertionSortLimit = 128;

    /// <summary>Binary search by name: the index, or the bitwise complement of where it would go.</summary>
    private static int IndexOf(ReadOnlySpan<Label> sorted, string name)
    {
        var lo = 0;
        var hi = sorted.Length - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var cmp = string.CompareOrdinal(sorted[mid].Name, name);
            if (cmp == 0)
            {
                return mid;
            }
            if (cmp < 0)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        return ~lo;
    }

    private static LabelSet FromDictionary(Dictionary<string, string> byName)
    {
        var array = new Label[byName.Count];
        var i = 0;
        foreach (var (name, value) in byName)
        {
            array[i++] = new Label(name, value);
        }
        Array.Sort(array, static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        return new LabelSet(array);
    }

    public string? Get(string name)
    {
        var at = IndexOf(_labels, name);
        return at >= 0 ? _labels[at].Value : null;
    }

    public LabelSet With(string name, string value)
    {
        var list = new List<Label>(_labels.Length + 1);
        list.AddRange(_labels);
        list.Add(new Label(name, value));
        return From(list);
    }

    public LabelSet Without(string name)
    {
        if (Get(name) is null)
        {
            return this;
        }
        var array = new Label[_labels.Length - 1];
        var j = 0;
        foreach (var label in _labels)
        {
            if (label.Name != name)
            {
                array[j++] = label;
            }
        }
        return new LabelSet(array);
    }

    /// <summary>The labels named in <paramref name="names"/> (those present), still sorted.</summary>
    public LabelSet Keep(IReadOnlyList<string> names)
    {
        var kept = new List<Label>(Math.Min(names.Count, _labels.Length));
        foreach (var label in _labels)
        {
            if (Contains(names, label.Name))
            {
                kept.Add(label);
            }
        }
        return kept.Count == _labels.Length ? this : new LabelSet([.. kept]);
    }

    /// <summary>The labels not named in <paramref name="names"/>.</summary>
    public LabelSet Drop(IReadOnlyList<string> names)
    {
        var kept = new List<Label>(_labels.Length);
        foreach (var label in _labels)
        {
            if (!Contains(names, label.Name))
            {
                kept.Add(label);
            }
        }
        return kept.Count == _labels.Length ? this : new LabelSet([.. kept]);
    }

    /// <summary>The labels both sets have with the same value.</summary>
    public LabelSet Intersect(LabelSet other)
    {
        if (Equals(other))
        {
            return this;
        }
        var kept = new List<Label>(Math.Min(_labels.Length, other.Count));
        foreach (var label in _labels)
        {
            if (other.Get(label.Name) == label.Value)
            {
                kept.Add(label);
            }
        }
        return new LabelSet([.. kept]);
    }

    private static bool Contains(IReadOnlyList<string> names, string name)
    {
        for (var i = 0; i < names.Count; i++)
        {
            if (names[i] == name)
            {
                return true;
            }
        }
        return false;
    }

    public bool Equals(LabelSet? other)
    {
        if (other is null || other.Fingerprint != Fingerprint || other._labels.Length != _labels.Length)
        {
            return false;
        }
        return _labels.AsSpan().SequenceEqual(other._labels);
    }

    public override bool Equals(object? obj) => Equals(obj as LabelSet);

    public override int GetHashCode() => (int)Fingerprint;

    /// <summary>Prometheus text form: <c>{a="1", b="2"}</c>.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder("{");
        for (var i = 0; i < _labels.Length; i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }
            sb.Append(_labels[i].Name).Append("=\"");
            foreach (var c in _labels[i].Value)
            {
                switch (c)
                {
                    case '\\': sb.Append("\\\\"); break;
                    case '"': sb.Append("\\\""); break;
                    case '\n': sb.Append("\\n"); break;
                    default: sb.Append(c); break;
                }
            }
            sb.Append('"');
        }
        return sb.Append('}').ToString();
    }

    private static ulong ComputeFingerprint(Label[] labels)
    {
        // Separator bytes that cannot occur in UTF-16 text keep "a=bc" and "ab=c" apart. One-shot over the bytes
        // laid end to end: the same hash as appending them one by one, without a hasher object per series.
        var length = 0;
        foreach (var label in labels)
        {
            length += 2 * (label.Name.Length + label.Value.Length) + 4;
        }
        byte[]? rented = null;
        var buffer = length <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(length));
        var at = 0;
        foreach (var label in labels)
        {
            at += Put(buffer[at..], label.Name);
            at += Put(buffer[at..], label.Value);
        }
        var hash = XxHash64.HashToUInt64(buffer[..at]);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
        return hash;

        static int Put(Span<byte> into, string text)
        {
            var bytes = MemoryMarshal.AsBytes(text.AsSpan());
            bytes.CopyTo(into);
            into[bytes.Length] = 0xff;
            into[bytes.Length + 1] = 0xfe;
            return bytes.Length + 2;
        }
    }
}
