using System.Buffers.Binary;
using Pyroscope.Model;
using Pyroscope.Storage.Codec;
using Pyroscope.Storage.Head;
using Pyroscope.Storage.Symbols;

namespace Pyroscope.Storage.Blocks;

/// <summary>A decoded block index: series, postings, profiles, and where each series' samples are.</summary>
internal sealed class BlockIndex
{
    public required SeriesIndex Series { get; init; }

    /// <summary>SampleStart is relative to the series' own sample chunk.</summary>
    public required ProfileTable Profiles { get; init; }

    public required long[] ChunkOffset { get; init; }

    public required int[] ChunkLength { get; init; }

    public required int[] SeriesSampleCount { get; init; }

    /// <summary>The index file's format version: from 2 on, sample chunks carry a trace id column.</summary>
    public required byte Version { get; init; }

    public long EstimatedBytes => Series.EstimatedBytes() + Profiles.EstimatedBytes() + ChunkOffset.Length * 16L;
}

internal static class BlockDecoder
{
    public static BlockIndex DecodeIndex(ReadOnlySpan<byte> file)
    {
        var (payload, version) = Unframe(file, BlockWriter.IndexMagic, "index");
        var r = new ByteReader(payload);
        var strings = new string[r.ReadInt()];
        for (var i = 0; i < strings.Length; i++)
        {
            strings[i] = r.ReadString();
        }
        var seriesCount = r.ReadInt();
        var index = new SeriesIndex();
        var profiles = new ProfileTable();
        var offsets = new long[seriesCount];
        var lengths = new int[seriesCount];
        var sampleCounts = new int[seriesCount];
        Span<byte> guidBytes = stackalloc byte[16];
        for (var s = 0; s < seriesCount; s++)
        {
            var labels = new Label[r.ReadInt()];
            for (var i = 0; i < labels.Length; i++)
            {
                labels[i] = new Label(strings[r.ReadInt()], strings[r.ReadInt()]);
            }
            var seriesId = index.GetOrAdd(LabelSet.From(labels));
            if (seriesId != s)
            {
                throw new InvalidDataException($"Block index repeats series {labels}.");
            }
            offsets[s] = (long)r.ReadUVarint();
            lengths[s] = r.ReadInt();
            var count = r.ReadInt();
            long ts = 0;
            var sampleStart = 0;
            for (var p = 0; p < count; p++)
            {
                ts += r.ReadVarint();
                string id;
                if (r.ReadByte() == 1)
                {
                    r.ReadBytes(16).CopyTo(guidBytes);
                    id = new Guid(guidBytes).ToString("D");
                }
                else
                {
                    id = r.ReadString();
                }
                var total = r.ReadVarint();
                var samples = r.ReadInt();
                var row = profiles.Add(s, ts, id, total, sampleStart, samples);
                index.AddProfile(s, row, ts);
                sampleStart += samples;
            }
            sampleCounts[s] = sampleStart;
        }
        return new BlockIndex { Series = index, Profiles = profiles, ChunkOffset = offsets, ChunkLength = lengths, SeriesSampleCount = sampleCounts, Version = version };
    }

    public static SampleColumns DecodeSeriesChunk(ReadOnlySpan<byte> compressed, BlockIndex index, int seriesId)
    {
        var raw = Zstd.Decompress(compressed);
        var r = new ByteReader(raw);
        var n = index.SeriesSampleCount[seriesId];
        var stacks = new int[n];
        var values = new long[n];
        var profiles = index.Profiles;
        foreach (var row in index.Series.SeriesProfiles[seriesId].Span)
        {
            var start = profiles.SampleStart[row];
            var end = start + profiles.SampleCount[row];
            var previous = 0;
            for (var i = start; i < end; i++)
            {
                previous += (int)r.ReadVarint();
                stacks[i] = previous;
            }
        }
        for (var i = 0; i < n; i++)
        {
            values[i] = r.ReadVarint();
        }
        ulong[]? spans = null;
        if (r.ReadByte() == 1)
        {
            spans = new ulong[n];
            for (var i = 0; i < n; i++)
            {
                spans[i] = BinaryPrimitives.ReadUInt64LittleEndian(r.ReadBytes(8));
            }
        }
        UInt128[]? traces = null;
        if (index.Version >= 2 && r.ReadByte() == 1)
        {
            traces = new UInt128[n];
            for (var i = 0; i < n; i++)
            {
                var bytes = r.ReadBytes(16);
                traces[i] = new UInt128(BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]), BinaryPrimitives.ReadUInt64LittleEndian(bytes));
            }
        }
        return new SampleColumns(stacks, values, spans, traces);
    }

    public static SymbolTable DecodeSymbols(ReadOnlySpan<byte> file)
    {
        var r = new ByteReader(Unframe(file, BlockWriter.SymbolsMagic, "symbols").Payload);
        var t = new SymbolTable();
        var strings = new string[r.ReadInt()];
        for (var i = 0; i < strings.Length; i++)
        {
            strings[i] = r.ReadString();
        }
        t.Strings = new GrowableArray<string>(strings);
        var mappings = r.ReadInt();
        var mStart = new ulong[mappings];
        var mLimit = new ulong[mappings];
        var mOffset = new ulong[mappings];
        var mFile = new int[mappings];
        var mBuild = new int[mappings];
        for (var i = 0; i < mappings; i++)
        {
            mStart[i] = r.ReadUVarint();
            mLimit[i] = r.ReadUVarint();
            mOffset[i] = r.ReadUVarint();
            mFile[i] = r.ReadInt();
            mBuild[i] = r.ReadInt();
        }
        t.MappingStart = new(mStart);
        t.MappingLimit = new(mLimit);
        t.MappingOffset = new(mOffset);
        t.MappingFilename = new(mFile);
        t.MappingBuildId = new(mBuild);
        var functions = r.ReadInt();
        t.FunctionName = new(ReadInts(ref r, functions));
        t.FunctionSystemName = new(ReadInts(ref r, functions));
        t.FunctionFilename = new(ReadInts(ref r, functions));
        var startLines = new long[functions];
        for (var i = 0; i < functions; i++)
        {
            startLines[i] = r.ReadVarint();
        }
        t.FunctionStartLine = new(startLines);
        var locations = r.ReadInt();
        var locMapping = ReadInts(ref r, locations);
        for (var i = 0; i < locations; i++)
        {
            locMapping[i] -= 1;
        }
        t.LocationMapping = new(locMapping);
        var addresses = new ulong[locations];
        for (var i = 0; i < locations; i++)
        {
            addresses[i] = r.ReadUVarint();
        }
        t.LocationAddress = new(addresses);
        var lineCounts = ReadInts(ref r, locations);
        var lineStarts = new int[locations];
        var totalLines = 0;
        for (var i = 0; i < locations; i++)
        {
            lineStarts[i] = totalLines;
            totalLines += lineCounts[i];
        }
        t.LocationLineCount = new(lineCounts);
        t.LocationLineStart = new(lineStarts);
        t.LineFunction = new(ReadInts(ref r, totalLines));
        var lineNumbers = new long[totalLines];
        for (var i = 0; i < totalLines; i++)
        {
            lineNumbers[i] = r.ReadVarint();
        }
        t.LineNumber = new(lineNumbers);
        var nodes = r.ReadInt();
        var parents = new int[nodes];
        for (var i = 0; i < nodes; i++)
        {
            parents[i] = i - r.ReadInt();
        }
        t.NodeParent = new(parents);
        t.NodeLocation = new(ReadInts(ref r, nodes));
        return t;
    }

    private static int[] ReadInts(ref ByteReader r, int count)
    {
        var result = new int[count];
        for (var i = 0; i < count; i++)
        {
            result[i] = r.ReadInt();
        }
        return result;
    }

    private static (byte[] Payload, byte Version) Unframe(ReadOnlySpan<byte> file, byte[] magic, string what)
    {
        if (file.Length < magic.Length + 1 || !file[..magic.Length].SequenceEqual(magic))
        {
            throw new InvalidDataException($"Block {what} file has a wrong magic number.");
        }
        var version = file[magic.Length];
        if (version is < BlockWriter.OldestReadableVersion or > BlockWriter.FormatVersion)
        {
            throw new InvalidDataException($"Block {what} file has unsupported format version {version}.");
        }
        return (Zstd.Decompress(file[(magic.Length + 1)..]), version);
    }
}
