using Pyroscope.Contracts.Google.V1;
using Pyroscope.Formats.Legacy;

namespace Pyroscope.Formats.Ingest;

/// <summary>
/// The legacy text and binary formats of the first Pyroscope agents: one stack profile whose type comes from
/// the app name's suffix (<c>name=app.cpu</c>), labelled as upstream's ingest adapter labels them.
/// </summary>
public abstract class LegacyIngestFormat : IIngestFormat
{
    public abstract string Name { get; }

    public virtual IReadOnlyList<string> Aliases => [];

    public virtual IReadOnlyList<string> MediaTypes => [];

    public IReadOnlyList<IngestedProfile> Decode(IngestPayload payload)
    {
        var md = payload.Metadata;
        var type = LegacyProfileType.FromAppName(md.Key.FullName);
        var profile = Parse(payload.Profile(Name).Span, type, md);
        return [new IngestedProfile(IngestLabels.Legacy(md, type), profile, 0)];
    }

    protected abstract Profile Parse(ReadOnlySpan<byte> body, LegacyProfileType type, IngestMetadata md);
}

/// <summary>Collapsed stacks, <c>a;b;c 42</c> per line: the default when nothing else matches.</summary>
public sealed class FoldedIngestFormat : LegacyIngestFormat
{
    public const string FormatName = "folded";

    public override string Name => FormatName;

    public override IReadOnlyList<string> Aliases => ["collapsed"];

    protected override Profile Parse(ReadOnlySpan<byte> body, LegacyProfileType type, IngestMetadata md) =>
        FoldedParser.ParseFolded(body, type, md.SampleRate, md.FromNanos, md.UntilNanos);
}

/// <summary><c>format=lines</c>: one stack per line, each counting 1.</summary>
public sealed class LinesIngestFormat : LegacyIngestFormat
{
    public override string Name => "lines";

    protected override Profile Parse(ReadOnlySpan<byte> body, LegacyProfileType type, IngestMetadata md) =>
        FoldedParser.ParseLines(body, type, md.SampleRate, md.FromNanos, md.UntilNanos);
}

/// <summary>The legacy binary trie (<c>format=trie</c> or <c>binary/octet-stream+trie</c>).</summary>
public sealed class TrieIngestFormat : LegacyIngestFormat
{
    public const string ContentType = "binary/octet-stream+trie";

    public override string Name => "trie";

    public override IReadOnlyList<string> MediaTypes => [ContentType];

    protected override Profile Parse(ReadOnlySpan<byte> body, LegacyProfileType type, IngestMetadata md) =>
        LegacyTreeParser.ParseTrie(body, type, md.SampleRate, md.FromNanos, md.UntilNanos);
}

/// <summary>The legacy binary tree (<c>format=tree</c> or <c>binary/octet-stream+tree</c>).</summary>
public sealed class TreeIngestFormat : LegacyIngestFormat
{
    public const string ContentType = "binary/octet-stream+tree";

    public override string Name => "tree";

    public override IReadOnlyList<string> MediaTypes => [ContentType];

    protected override Profile Parse(ReadOnlySpan<byte> body, LegacyProfileType type, IngestMetadata md) =>
        LegacyTreeParser.ParseTree(body, type, md.SampleRate, md.FromNanos, md.UntilNanos);
}

/// <summary>
/// <c>format=speedscope</c>: one profile per speedscope profile; with several, each takes its unit as type
/// suffix of the app name.
/// </summary>
public sealed class SpeedscopeIngestFormat : IIngestFormat
{
    public string Name => "speedscope";

    public IReadOnlyList<IngestedProfile> Decode(IngestPayload payload)
    {
        var md = payload.Metadata;
        var converted = SpeedscopeParser.Parse(payload.Profile(Name).Span, md.Key.FullName, md.FromNanos, md.UntilNanos);
        var result = new List<IngestedProfile>(converted.Count);
        foreach (var c in converted)
        {
            result.Add(new IngestedProfile(IngestLabels.Legacy(md, c.Type), c.Profile, 0));
        }
        return result;
    }
}
