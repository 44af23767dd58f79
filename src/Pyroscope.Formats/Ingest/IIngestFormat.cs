namespace Pyroscope.Formats.Ingest;

/// <summary>
/// One body format of <c>POST /ingest</c>. The <see cref="IngestFormatRegistry"/> finds it by the
/// <c>format=</c> parameter (<see cref="Name"/>, <see cref="Aliases"/>), by content type
/// (<see cref="MediaTypes"/>) or, for a multipart form without <c>format=</c>, by the form field its profile
/// comes in (<see cref="MultipartField"/>). Adding a format is one class implementing this and one
/// registration (the registry's built-in list, or <c>IIngestFormat</c> in DI for formats living elsewhere).
/// </summary>
public interface IIngestFormat
{
    /// <summary>The <c>format=</c> value, lower case (e.g. "jfr").</summary>
    string Name { get; }

    /// <summary>Other <c>format=</c> values meaning the same (e.g. "collapsed" for folded).</summary>
    IReadOnlyList<string> Aliases => [];

    /// <summary>Media types that select this format whatever <c>format=</c> says, as upstream treats trie and tree.</summary>
    IReadOnlyList<string> MediaTypes => [];

    /// <summary>The multipart form field holding the profile, or null when the format is never sent as a form.</summary>
    string? MultipartField => null;

    /// <summary>
    /// Decodes the body into profiles with their series labels. Bad input throws
    /// <see cref="ProfileFormatException"/> naming what was wrong (<see cref="ProfileTooLargeException"/> when
    /// over a size cap); the payload's helpers apply the caps.
    /// </summary>
    IReadOnlyList<IngestedProfile> Decode(IngestPayload payload);
}
