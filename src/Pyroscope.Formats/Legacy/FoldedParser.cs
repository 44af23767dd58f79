using System.Buffers;
using System.Globalization;
using System.Text;
using Pyroscope.Contracts.Google.V1;

namespace Pyroscope.Formats.Legacy;

/// <summary>
/// Collapsed stacks (<c>a;b;c 42</c>, one stack per line, value after the last space) and the
/// <c>format=lines</c> variant (one stack per line, each counting 1), converted to pprof as upstream does.
/// </summary>
public static class FoldedParser
{
    public static Profile ParseFolded(ReadOnlySpan<byte> body, LegacyProfileType type, int sampleRate, long fromNanos, long untilNanos)
    {
        var builder = new StackProfileBuilder();
        Parse(body, builder, withValues: true);
        return builder.BuildLegacy(type, sampleRate, fromNanos, untilNanos);
    }

    public static Profile ParseLines(ReadOnlySpan<byte> body, LegacyProfileType type, int sampleRate, long fromNanos, long untilNanos)
    {
        var builder = new StackProfileBuilder();
        Parse(body, builder, withValues: false);
        return builder.BuildLegacy(type, sampleRate, fromNanos, untilNanos);
    }

    private static void Parse(ReadOnlySpan<byte> body, StackProfileBuilder builder, bool withValues)
    {
        var chars = ArrayPool<char>.Shared.Rent(256);
        try
        {
            var lineNumber = 0;
            while (!body.IsEmpty)
            {
                lineNumber++;
                var newline = body.IndexOf((byte)'\n');
                var line = newline < 0 ? body : body[..newline];
                body = newline < 0 ? default : body[(newline + 1)..];
                line = line.TrimEnd((byte)'\r').Trim((byte)' ');
                if (line.IsEmpty)
                {
                    continue;
                }
                var stack = line;
                long value = 1;
                if (withValues)
                {
                    var space = line.LastIndexOf((byte)' ');
                    if (space < 0)
                    {
                        throw new ProfileFormatException($"folded: line {lineNumber}: expected \"frame;frame;... value\", found no value: \"{Preview(line)}\"");
                    }
                    var number = line[(space + 1)..];
                    if (!long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out value))
                    {
                        throw new ProfileFormatException($"folded: line {lineNumber}: invalid sample value \"{Preview(number)}\" (expected a non-negative integer)");
                    }
                    stack = line[..space].TrimEnd((byte)' ');
                }
                if (stack.IsEmpty)
                {
                    throw new ProfileFormatException($"folded: line {lineNumber}: empty stack");
                }
                if (chars.Length < stack.Length)
                {
                    ArrayPool<char>.Shared.Return(chars);
                    chars = ArrayPool<char>.Shared.Rent(stack.Length);
                }
                int charCount;
                try
                {
                    charCount = Utf8.GetChars(stack, chars);
                }
                catch (DecoderFallbackException)
                {
                    throw new ProfileFormatException($"folded: line {lineNumber}: not valid UTF-8");
                }
                builder.BeginSample();
                var text = chars.AsSpan(0, charCount);
                foreach (var range in text.Split(';'))
                {
                    var frame = text[range];
                    if (!frame.IsEmpty)
                    {
                        builder.PushFrame(frame);
                    }
                }
                builder.CommitSample(value);
            }
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
        }
    }

    private static readonly UTF8Encoding Utf8 = new(false, throwOnInvalidBytes: true);

    private static string Preview(ReadOnlySpan<byte> bytes)
    {
        var s = Encoding.UTF8.GetString(bytes.Length > 80 ? bytes[..80] : bytes);
        return bytes.Length > 80 ? s + "…" : s;
    }
}
