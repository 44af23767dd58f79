using System.Buffers.Binary;
using Pyroscope.Storage.Codec;
using Pyroscope.Storage.Head;
using Pyroscope.Storage.ObjectStore;
using Pyroscope.Storage.Symbols;

namespace Pyroscope.Storage.Blocks;

/// <summary>The encoded files of one block, ready to be written to any store.</summary>
public sealed record EncodedBlock(BlockMeta Meta, byte[] Index, byte[] Symbols, byte[] Samples)
{
    public IEnumerable<(string Name, byte[] Data)> DataFiles()
    {
        yield return (BlockFileNames.Index, Index);
        yield return (BlockFileNames.Symbols, Symbols);
        yield return (BlockFileNames.Samples, Samples);
    }

    /// <summary>Writes the block under <c>&lt;tenant&gt;/&lt;ULID&gt;/</c>; meta.json goes last, so readers never see a partial block.</summary>
    public async Task WriteToAsync(IObjectStore store, CancellationToken cancellationToken)
    {
        var folder = Meta.Tenant + "/" + Meta.Ulid + "/";
        foreach (var (name, data) in DataFiles())
        {
            await store.PutAsync(folder + name, data, cancellationToken);
        }
        await store.PutAsync(folder + BlockFileNames.Meta, Meta.ToJson(), cancellationToken);
    }
}

/// <summary>
/// Encodes a tenant's tables as a block (layout in docs/storage-format.md): a series-major index,
/// the symbols, and one zstd frame of sample columns per series so a query fetches only the series it needs.
/// </summary>
internal static class BlockWriter
{
    public static readonly byte[] IndexMagic = "PYIX"u8.ToArray();
    public static readonly byte[] SymbolsMagic = "PYSY"u8.ToArray();
    /// <summary>
    /// 2: sample chunks end with a trace id column. Readers accept 1 (no trace ids) too; see docs/storage-format.md.
    /// </summary>
    public const byte FormatVersion = 2;

    /// <summary>The oldest version readers still decode.</summary>
    public const byte OldestReadableVersion = 1;

    public static EncodedBlock Encode(TenantTables tables, string tenant, Ulid id, int level, IReadOnlyList<string> sources)
    {
        var index = tables.Index;
        var profiles = tables.Profiles;
        using var samplesOut = new ByteWriter(64 * 1024);
        using var indexWriter = new ByteWriter(64 * 1024);
        using var chunk = new ByteWriter(64 * 1024);
        using var compressor = new ReusingCompressor(Zstd.BlockLevel);

        // Label strings of the index, deduplicated.
        var labelStrings = new Dictionary<string, int>(StringComparer.Ordinal);
        var labelStringList = new List<string>();
        int LabelString(string s)
        {
            if (!labelStrings.TryGetValue(s, out var i))
            {
                i = labelStringList.Count;
                labelStringList.Add(s);
                labelStrings.Add(s, i);
            }
            return i;
        }
        // Only series with profiles are written; ids are renumbered densely.
        var written = new List<int>(index.Count);
        for (var s = 0; s < index.Count; s++)
        {
            if (index.SeriesProfiles[s].Count > 0)
            {
                written.Add(s);
                foreach (var label in index.Series[s].Labels)
                {
                    LabelString(label.Name);
                    LabelString(label.Value);
                }
            }
        }
        indexWriter.WriteUVarint((ulong)labelStringList.Count);
        foreach (var s in labelStringList)
        {
            indexWriter.WriteString(s);
        }
        indexWriter.WriteUVarint((ulong)written.Count);
        long totalSamples = 0;
        long minTime = long.MaxValue, maxTime = long.MinValue;
        foreach (var s in written)
        {
            var labels = index.Series[s];
            indexWriter.WriteUVarint((ulong)labels.Count);
            foreach (var label in labels.Labels)
            {
                indexWriter.WriteUVarint((ulong)labelStrings[label.Name]);
                indexWriter.WriteUVarint((ulong)labelStrings[label.Value]);
            }

            // Profiles of the series by time.
            var rows = index.SeriesProfiles[s].Span.ToArray();
            var keys = new long[rows.Length];
            for (var i = 0; i < rows.Length; i++)
            {
                keys[i] = profiles.TimestampMs[rows[i]];
            }
            Array.Sort(keys, rows);

            var samples = tables.SamplesOf(s);
            chunk.Reset();
            // Column 1: stack ids, delta-coded within each profile.
            foreach (var row in rows)
            {
                var start = profiles.SampleStart[row];
                var end = start + profiles.SampleCount[row];
                var previous = 0;
                for (var i = start; i < end; i++)
                {
                    var stack = samples.StackId[i];
                    chunk.WriteVarint(stack - previous);
                    previous = stack;
                }
            }
            // Column 2: values.
            foreach (var row in rows)
            {
                var start = profiles.SampleStart[row];
                var end = start + profiles.SampleCount[row];
                for (var i = start; i < end; i++)
                {
                    chunk.WriteVarint(samples.Value[i]);
                }
            }
            // Column 3: span ids, only when any sample of the series has one.
            var hasSpans = false;
            if (samples.SpanId is not null)
            {
                foreach (var row in rows)
                {
                    var start = profiles.SampleStart[row];
                    var end = start + profiles.SampleCount[row];
                    for (var i = start; i < end && !hasSpans; i++)
                    {
                        hasSpans = samples.SpanOf(i) != 0;
                    }
                }
            }
            chunk.WriteByte(hasSpans ? (byte)1 : (byte)0);
            if (hasSpans)
            {
                var eight = new byte[8];
                foreach (var row in rows)
                {
                    var start = profiles.SampleStart[row];
                    var end = start + profiles.SampleCount[row];
                    for (var i = start; i < end; i++)
                    {
                        BinaryPrimitives.WriteUInt64LittleEndian(eight, samples.SpanOf(i));
                        chunk.WriteBytes(eight);
                    }
                }
            }
            WriteTraceColumn(chunk, samples, profiles, rows);
            var compressed = compressor.Compress(chunk.WrittenSpan);
            var offset = samplesOut.Length;
            samplesOut.WriteBytes(compressed);

            indexWriter.WriteUVarint((ulong)offset);
            indexWriter.WriteUVarint((ulong)compressed.Length);
            indexWriter.WriteUVarint((ulong)rows.Length);
            long previousTs = 0;
            foreach (var row in rows)
            {
                var ts = profiles.TimestampMs[row];
                minTime = Math.Min(minTime, ts);
                maxTime = Math.Max(maxTime, ts);
                indexWriter.WriteVarint(ts - previousTs);
                previousTs = ts;
                WriteProfileId(indexWriter, profiles.ProfileId[row]);
                indexWriter.WriteVarint(profiles.Total[row]);
                indexWriter.WriteUVarint((ulong)profiles.SampleCount[row]);
                totalSamples += profiles.SampleCount[row];
            }
        }

        var indexBytes = Frame(IndexMagic, compressor.Compress(indexWriter.WrittenSpan));
        var symbolBytes = Frame(SymbolsMagic, compressor.Compress(EncodeSymbols(tables.Symbols)));
        var samplesBytes = samplesOut.WrittenSpan.ToArray();
        var meta = new BlockMeta
        {
            Ulid = id.ToString(),
            Tenant = tenant,
            MinTimeMs = minTime == long.MaxValue ? 0 : minTime,
            MaxTimeMs = maxTime == long.MinValue ? 0 : maxTime,
            Stats = new BlockStats
            {
                NumSeries = written.Count,
                NumProfiles = profiles.Count,
                NumSamples = totalSamples,
                NumStacks = tables.Symbols.NodeCount,
                NumLocations = tables.Symbols.LocationCount,
                NumFunctions = tables.Symbols.FunctionCount,
                NumStrings = tables.Symbols.Strings.Count,
            },
            Compaction = new BlockCompaction { Level = level, Sources = [.. sources] },
            Files =
            [
                new BlockFile { Name = BlockFileNames.Index, SizeBytes = indexBytes.Length },
                new BlockFile { Name = BlockFileNames.Symbols, SizeBytes = symbolBytes.Length },
                new BlockFile { Name = BlockFileNames.Samples, SizeBytes = samplesBytes.Length },
            ],
        };
        return new EncodedBlock(meta, indexBytes, symbolBytes, samplesBytes);
    }

    /// <summary>Column 4 (version 2): byte hasTraces, then 16 bytes per sample (low then high half, little-endian).</summary>
    private static void WriteTraceColumn(ByteWriter chunk, SampleColumns samples, ProfileTable profiles, int[] rows)
    {
        var hasTraces = false;
        if (samples.TraceId is not null)
        {
            foreach (var row in rows)
            {
                var start = profiles.SampleStart[row];
                var end = start + profiles.SampleCount[row];
                for (var i = start; i < end && !hasTraces; i++)
                {
                    hasTraces = samples.TraceOf(i) != 0;
                }
            }
        }
        chunk.WriteByte(hasTraces ? (byte)1 : (byte)0);
        if (!hasTraces)
        {
            return;
        }
        Span<byte> sixteen = stackalloc byte[16];
        foreach (var row in rows)
        {
            var start = profiles.SampleStart[row];
            var end = start + profiles.SampleCount[row];
            for (var i = start; i < end; i++)
            {
                var trace = samples.TraceOf(i);
                BinaryPrimitives.WriteUInt64LittleEndian(sixteen, (ulong)trace);
                BinaryPrimitives.WriteUInt64LittleEndian(sixteen[8..], (ulong)(trace >> 64));
                chunk.WriteBytes(sixteen);
            }
        }
    }

    private static void WriteProfileId(ByteWriter writer, string id)
    {
        // UUIDs (the usual id) take 16 bytes instead of 36 characters when they round-trip exactly.
        Span<char> canonical = stackalloc char[36];
        if (id.Length == 36 && Guid.TryParseExact(id, "D", out var guid) && guid.TryFormat(canonical, out _, "D") && canonical.SequenceEqual(id))
        {
            writer.WriteByte(1);
            Span<byte> bytes = stackalloc byte[16];
            guid.TryWriteBytes(bytes);
            writer.WriteBytes(bytes);
        }
        else
        {
            writer.WriteByte(0);
            writer.WriteString(id);
        }
    }

    private static byte[] Frame(byte[] magic, ReadOnlySpan<byte> payload)
    {
        var result = new byte[magic.Length + 1 + payload.Length];
        magic.CopyTo(result, 0);
        result[magic.Length] = FormatVersion;
        payload.CopyTo(result.AsSpan(magic.Length + 1));
        return result;
    }

    private static byte[] EncodeSymbols(SymbolTable t)
    {
        using var w = new ByteWriter(256 * 1024);
        w.WriteUVarint((ulong)t.Strings.Count);
        for (var i = 0; i < t.Strings.Count; i++)
        {
            w.WriteString(t.Strings[i]);
        }
        // Column by column: similar values next to each other compress better.
        w.WriteUVarint((ulong)t.MappingStart.Count);
        for (var i = 0; i < t.MappingStart.Count; i++)
        {
            w.WriteUVarint(t.MappingStart[i]);
            w.WriteUVarint(t.MappingLimit[i]);
            w.WriteUVarint(t.MappingOffset[i]);
            w.WriteUVarint((ulong)t.MappingFilename[i]);
            w.WriteUVarint((ulong)t.MappingBuildId[i]);
        }
        var functions = t.FunctionName.Count;
        w.WriteUVarint((ulong)functions);
        for (var i = 0; i < functions; i++)
        {
            w.WriteUVarint((ulong)t.FunctionName[i]);
        }
        for (var i = 0; i < functions; i++)
        {
            w.WriteUVarint((ulong)t.FunctionSystemName[i]);
        }
        for (var i = 0; i < functions; i++)
        {
            w.WriteUVarint((ulong)t.FunctionFilename[i]);
        }
        for (var i = 0; i < functions; i++)
        {
            w.WriteVarint(t.FunctionStartLine[i]);
        }
        var locations = t.LocationMapping.Count;
        w.WriteUVarint((ulong)locations);
        for (var i = 0; i < locations; i++)
        {
            w.WriteUVarint((ulong)(t.LocationMapping[i] + 1));
        }
        for (var i = 0; i < locations; i++)
        {
            w.WriteUVarint(t.LocationAddress[i]);
        }
        for (var i = 0; i < locations; i++)
        {
            w.WriteUVarint((ulong)t.LocationLineCount[i]);
        }
        // Lines in location order (the head may hold unreferenced staged lines; they are not written).
        for (var i = 0; i < locations; i++)
        {
            var start = t.LocationLineStart[i];
            for (var l = 0; l < t.LocationLineCount[i]; l++)
            {
                w.WriteUVarint((ulong)t.LineFunction[start + l]);
            }
        }
        for (var i = 0; i < locations; i++)
        {
            var start = t.LocationLineStart[i];
            for (var l = 0; l < t.LocationLineCount[i]; l++)
            {
                w.WriteVarint(t.LineNumber[start + l]);
            }
        }
        // Stack tree: parents as distance back from the node (parent < node always), then locations.
        var nodes = t.NodeParent.Count;
        w.WriteUVarint((ulong)nodes);
        for (var i = 0; i < nodes; i++)
        {
            w.WriteUVarint((ulong)(i - t.NodeParent[i]));
        }
        for (var i = 0; i < nodes; i++)
        {
            w.WriteUVarint((ulong)t.NodeLocation[i]);
        }
        return w.WrittenSpan.ToArray();
    }
}
