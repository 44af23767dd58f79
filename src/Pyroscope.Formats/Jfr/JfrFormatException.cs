namespace Pyroscope.Formats.Jfr;

/// <summary>
/// The input is not a JFR recording this parser understands: truncated, corrupt, or using an unsupported feature.
/// <see cref="Offset"/> is the absolute byte offset in the input where the problem was detected.
/// </summary>
public sealed class JfrFormatException : FormatException
{
    public JfrFormatException(long offset, string problem)
        : base($"Invalid JFR at offset {offset}: {problem}")
    {
        Offset = offset;
        Problem = problem;
    }

    public long Offset { get; }

    public string Problem { get; }
}
