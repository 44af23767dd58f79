using System.Runtime.CompilerServices;

// Reader-level tests (varints, string encodings) exercise internal types directly.
[assembly: InternalsVisibleTo("Pyroscope.Formats.Tests")]
