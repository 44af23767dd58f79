using System.Text.RegularExpressions;

namespace Pyroscope.Formats.Jfr;

/// <summary>
/// Collapses JVM-generated symbol names that differ per run (lambda classes, reflection accessors, native
/// libraries extracted to /tmp with random suffixes) into stable names, as upstream's jfr-parser does, so
/// that series do not grow without bound.
/// </summary>
internal static partial class JfrFrameNames
{
    public static string Normalize(string symbol)
    {
        if (symbol.Length == 0)
        {
            return symbol;
        }
        if (symbol.StartsWith("jdk/internal/reflect/GeneratedMethodAccessor", StringComparison.Ordinal))
        {
            symbol = GeneratedMethodAccessor().Replace(symbol, "${1}_");
        }
        if (symbol.Contains("$$Lambda", StringComparison.Ordinal))
        {
            symbol = LambdaClass().Replace(symbol, "${1}_");
        }
        if (symbol.Contains(".so", StringComparison.Ordinal))
        {
            symbol = ZstdJni().Replace(symbol, "libzstd-jni-_.so");
            symbol = AmazonCorretto().Replace(symbol, "libamazonCorrettoCryptoProvider_.so");
            symbol = AsyncProfilerLibrary().Replace(symbol, "libasyncProfiler-_.so");
        }
        return symbol;
    }

    [GeneratedRegex(@"^(jdk/internal/reflect/GeneratedMethodAccessor)(\d+)$")]
    private static partial Regex GeneratedMethodAccessor();

    // Fib$$Lambda$669.0x0000000800fd7318, Fib$$Lambda.0x00007ffa600c4da0, App$$Lambda$14/0x0000000800c03000, App$$Lambda$3
    [GeneratedRegex(@"^(.+\$\$Lambda)(\$?\d*[./](0x)?[\da-f]+|\d+)$")]
    private static partial Regex LambdaClass();

    [GeneratedRegex(@"^(\.?/tmp/)?(libzstd-jni-\d+\.\d+\.\d+-)(\d+)(\.so)( \(deleted\))?$")]
    private static partial Regex ZstdJni();

    [GeneratedRegex(@"^(\.?/tmp/)?(lib)?(amazonCorrettoCryptoProvider)(NativeLibraries\.)?([0-9a-f]{16})(/libcrypto|/libamazonCorrettoCryptoProvider)?(\.so)( \(deleted\))?$")]
    private static partial Regex AmazonCorretto();

    [GeneratedRegex(@"^(\.?/tmp/)?(libasyncProfiler)-(linux-arm64|linux-musl-x64|linux-x64|macos)-(17b9a1d8156277a98ccc871afa9a8f69215f92)(\.so)( \(deleted\))?$")]
    private static partial Regex AsyncProfilerLibrary();
}
