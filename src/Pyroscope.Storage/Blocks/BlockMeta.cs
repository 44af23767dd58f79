using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pyroscope.Storage.Blocks;

/// <summary>meta.json of a block. Written last on upload, so a block without it is incomplete and ignored.</summary>
public sealed class BlockMeta
{
    /// <summary>The format version of the block's files (see <see cref="BlockWriter.FormatVersion"/>).</summary>
    public const int CurrentVersion = BlockWriter.FormatVersion;

    [JsonPropertyName("ulid")] public string Ulid { get; set; } = "";
    [JsonPropertyName("minTime")] public long MinTimeMs { get; set; }
    [JsonPropertyName("maxTime")] public long MaxTimeMs { get; set; }
    [JsonPropertyName("version")] public int Version { get; set; } = CurrentVersion;
    [JsonPropertyName("tenant")] public string Tenant { get; set; } = "";
    [JsonPropertyName("stats")] public BlockStats Stats { get; set; } = new();
    [JsonPropertyName("compaction")] public BlockCompaction Compaction { get; set; } = new();
    [JsonPropertyName("files")] public List<BlockFile> Files { get; set; } = [];

    /// <summary>Ingester-local: the WAL segment whose closing produced this block (0 for compacted blocks).</summary>
    [JsonPropertyName("walSegment")] public long WalSegment { get; set; }

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, JsonOptions);

    public static BlockMeta Parse(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize<BlockMeta>(json, JsonOptions) ?? throw new InvalidDataException("meta.json is empty.");

    public Ulid Id => System.Ulid.Parse(Ulid);

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };
}

public sealed class BlockStats
{
    [JsonPropertyName("numSeries")] public long NumSeries { get; set; }
    [JsonPropertyName("numProfiles")] public long NumProfiles { get; set; }
    [JsonPropertyName("numSamples")] public long NumSamples { get; set; }
    [JsonPropertyName("numStacks")] public long NumStacks { get; set; }
    [JsonPropertyName("numLocations")] public long NumLocations { get; set; }
    [JsonPropertyName("numFunctions")] public long NumFunctions { get; set; }
    [JsonPropertyName("numStrings")] public long NumStrings { get; set; }
}

public sealed class BlockCompaction
{
    [JsonPropertyName("level")] public int Level { get; set; } = 1;
    [JsonPropertyName("sources")] public List<string> Sources { get; set; } = [];
}

public sealed class BlockFile
{
    [JsonPropertyName("relPath")] public string Name { get; set; } = "";
    [JsonPropertyName("sizeBytes")] public long SizeBytes { get; set; }
}

/// <summary>Names of the files inside a block folder.</summary>
public static class BlockFileNames
{
    public const string Meta = "meta.json";
    public const string Index = "index.bin";
    public const string Symbols = "symbols.bin";
    public const string Samples = "samples.bin";
    public const string DeletionMark = "deletion-mark.json";
}
