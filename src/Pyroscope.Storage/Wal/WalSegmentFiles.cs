using System.Buffers.Binary;
using System.Globalization;
using System.IO.Hashing;
using Microsoft.Extensions.Logging;

namespace Pyroscope.Storage.Wal;

/// <summary>
/// The WAL's files. A logical segment <c>N</c> (one per head generation) is the file <c>N.wal</c> (ten digits) and, when
/// a write failed while it was open, continuation files <c>N_0001.wal</c>, <c>N_0002.wal</c>, …: after a failure the log
/// never appends behind what the failure may have left, so a torn tail can only end a file, never hide a later record.
/// Record: u32 length, u32 CRC-32 of the payload, payload. A file may end in zeros (filled ahead of the records
/// while it was written): an all-zero header ends its records.
/// </summary>
internal static class WalSegmentFiles
{
    public const string Extension = ".wal";
    public const int HeaderSize = 8;
    public const int MaxRecordBytes = 512 * 1024 * 1024;

    public static string PathOf(string directory, long segment, int part) =>
        Path.Combine(directory, segment.ToString("D10", CultureInfo.InvariantCulture)
            + (part == 0 ? "" : "_" + part.ToString("D4", CultureInfo.InvariantCulture)) + Extension);

    /// <summary>Every segment file, ordered by segment then part.</summary>
    public static List<(long Segment, int Part, string Path)> List(string directory)
    {
        var result = new List<(long, int, string)>();
        foreach (var path in Directory.EnumerateFiles(directory, "*" + Extension))
        {
            if (TryParse(Path.GetFileNameWithoutExtension(path), out var segment, out var part))
            {
                result.Add((segment, part, path));
            }
        }
        result.Sort(static (a, b) => a.Item1 != b.Item1 ? a.Item1.CompareTo(b.Item1) : a.Item2.CompareTo(b.Item2));
        return result;
    }

    private static bool TryParse(string name, out long segment, out int part)
    {
        part = 0;
        var separator = name.IndexOf('_');
        var number = separator < 0 ? name : name[..separator];
        if (!long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out segment))
        {
            return false;
        }
        return separator < 0 || int.TryParse(name.AsSpan(separator + 1), NumberStyles.None, CultureInfo.InvariantCulture, out part);
    }

    public static void WriteHeader(Span<byte> header, ReadOnlySpan<byte> payload)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], Crc32.HashToUInt32(payload));
    }

    /// <summary>Reads the records of one file. A torn or corrupt tail ends the file with a warning.</summary>
    public static IEnumerable<byte[]> ReadFile(string path, ILogger logger)
    {
        byte[] data;
        try
        {
            data = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            yield break;
        }
        var offset = 0;
        while (offset < data.Length)
        {
            if (data.Length - offset < HeaderSize)
            {
                logger.LogWarning("WAL file {Path}: torn record header at offset {Offset}; dropping {Bytes} trailing bytes.", path, offset, data.Length - offset);
                yield break;
            }
            var length = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(offset));
            var crc = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(offset + 4));
            if (length == 0 && crc == 0)
            {
                // The zeros a file is filled with ahead of its records (no record is empty): the clean end.
                yield break;
            }
            if (length > MaxRecordBytes || length > data.Length - offset - HeaderSize)
            {
                logger.LogWarning("WAL file {Path}: torn record at offset {Offset} (length {Length}); dropping {Bytes} trailing bytes.", path, offset, length, data.Length - offset);
                yield break;
            }
            var payload = data.AsSpan(offset + HeaderSize, (int)length);
            if (Crc32.HashToUInt32(payload) != crc)
            {
                logger.LogWarning("WAL file {Path}: checksum mismatch at offset {Offset}; dropping {Bytes} trailing bytes.", path, offset, data.Length - offset);
                yield break;
            }
            yield return payload.ToArray();
            offset += HeaderSize + (int)length;
        }
    }
}
