using System.Buffers;
using System.Text;
using Pyroscope.Model.Buffers;

namespace Pyroscope.Model.Ingest;

/// <summary>
/// A pprof string table as slices of the received bytes: nothing is decoded until asked for, and a head interns
/// straight from the UTF-8 (<see cref="TryGetUtf8"/>). Strings changed by normalisation (truncated, rewritten) and
/// strings added to the table are held as .NET strings.
/// </summary>
public sealed class PprofStrings : IDisposable
{
    private ReadOnlyMemory<byte> _utf8;
    private PooledList<(int Offset, int Length)> _slices;
    private string?[]? _strings;

    public PprofStrings(ReadOnlyMemory<byte> utf8) => _utf8 = utf8;

    public int Count => _slices.Count;

    /// <summary>Adds the string at <paramref name="offset"/> of the received bytes (the reader's path).</summary>
    public void AddSlice(int offset, int length) => _slices.Add((offset, length));

    /// <summary>Adds a string that is not in the received bytes; returns its index.</summary>
    public int Add(string value)
    {
        var index = _slices.Count;
        _slices.Add((-1, value.Length));
        Store(index, value);
        return index;
    }

    /// <summary>Replaces the string at <paramref name="index"/>.</summary>
    public void Set(int index, string value)
    {
        _slices[index] = (-1, value.Length);
        Store(index, value);
    }

    /// <summary>The string at <paramref name="index"/>; decoded once, then cached.</summary>
    public string this[int index]
    {
        get
        {
            var (offset, length) = _slices[index];
            if (_strings is not null && _strings[index] is { } known)
            {
                return known;
            }
            var value = length == 0 ? "" : Encoding.UTF8.GetString(_utf8.Span.Slice(offset, length));
            Store(index, value);
            return value;
        }
    }

    /// <summary>The string at <paramref name="index"/>, or "" when the index is outside the table (fix-ups run before validation).</summary>
    public string GetOrEmpty(long index) => index >= 0 && index < Count ? this[(int)index] : "";

    public bool IsValid(long index) => index >= 0 && index < Count;

    /// <summary>The received UTF-8 bytes of the string, unless normalisation replaced it (then use the indexer).</summary>
    public bool TryGetUtf8(int index, out ReadOnlySpan<byte> utf8)
    {
        var (offset, length) = _slices[index];
        if (offset < 0)
        {
            utf8 = default;
            return false;
        }
        utf8 = _utf8.Span.Slice(offset, length);
        return true;
    }

    /// <summary>Length in UTF-16 code units, as <see cref="string.Length"/> counts (limits are in those).</summary>
    public int Utf16Length(int index)
    {
        if (!TryGetUtf8(index, out var utf8))
        {
            return _slices[index].Length;
        }
        return Ascii.IsValid(utf8) ? utf8.Length : Encoding.UTF8.GetCharCount(utf8);
    }

    public bool IsEmpty(int index) => _slices[index].Length == 0;

    /// <summary>Whether the string at <paramref name="index"/> is <paramref name="value"/>, without decoding it.</summary>
    public bool EqualsText(int index, string value)
    {
        if (!TryGetUtf8(index, out var utf8))
        {
            return string.Equals(this[index], value, StringComparison.Ordinal);
        }
        if (utf8.Length < value.Length || utf8.Length > value.Length * 3)
        {
            return false;
        }
        return Ascii.IsValid(utf8) ? Ascii.Equals(utf8, value) : string.Equals(this[index], value, StringComparison.Ordinal);
    }

    /// <summary>Whether two strings have the same text.</summary>
    public bool SameText(int a, int b)
    {
        if (a == b)
        {
            return true;
        }
        if (TryGetUtf8(a, out var x) && TryGetUtf8(b, out var y))
        {
            return x.SequenceEqual(y);
        }
        return string.Equals(this[a], this[b], StringComparison.Ordinal);
    }

    /// <summary>A hash of the text, equal for equal texts whichever form they are held in.</summary>
    public int TextHash(int index)
    {
        if (TryGetUtf8(index, out var utf8) && Ascii.IsValid(utf8))
        {
            // ASCII: hash the UTF-16 form without decoding, byte by byte as chars.
            var hash = new HashCode();
            foreach (var b in utf8)
            {
                hash.Add((char)b);
            }
            return hash.ToHashCode();
        }
        var text = this[index];
        var h = new HashCode();
        foreach (var c in text)
        {
            h.Add(c);
        }
        return h.ToHashCode();
    }

    private void Store(int index, string value)
    {
        if (_strings is null || _strings.Length <= index)
        {
            var bigger = ArrayPool<string?>.Shared.Rent(Math.Max(_slices.Count, 16));
            Array.Clear(bigger);
            if (_strings is not null)
            {
                _strings.AsSpan().CopyTo(bigger);
                ArrayPool<string?>.Shared.Return(_strings, clearArray: true);
            }
            _strings = bigger;
        }
        _strings[index] = value;
    }

    public void Dispose()
    {
        _slices.Dispose();
        if (_strings is not null)
        {
            ArrayPool<string?>.Shared.Return(_strings, clearArray: true);
            _strings = null;
        }
        _utf8 = default;
    }
}
