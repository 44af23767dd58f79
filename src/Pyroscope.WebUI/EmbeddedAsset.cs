namespace Pyroscope.WebUI;

/// <summary>One UI file held in memory, with a gzip copy and a strong ETag derived from its bytes.</summary>
internal sealed record EmbeddedAsset(string Path, byte[] Content, byte[]? Gzipped, string ContentType, string ETag);
