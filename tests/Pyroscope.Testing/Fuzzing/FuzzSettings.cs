using System.Globalization;

namespace Pyroscope.Testing.Fuzzing;

/// <summary>
/// How many generated cases each fuzz test runs, and from which seed. CI runs a few thousand per test;
/// <c>PYROSCOPE_FUZZ_CASES=20000</c> (any number) makes the nightly-style run, <c>PYROSCOPE_FUZZ_SEED</c>
/// replays one seed. Every case is derived from (seed, test name, case index), so a failure names what
/// reproduces it.
/// </summary>
public static class FuzzSettings
{
    public const string CasesVariable = "PYROSCOPE_FUZZ_CASES";
    public const string SeedVariable = "PYROSCOPE_FUZZ_SEED";

    /// <summary>The fixed seed of CI runs, so they are reproducible.</summary>
    public const int DefaultSeed = 20_251_011;

    /// <summary>Cases for a test whose CI default is <paramref name="ciDefault"/>.</summary>
    public static int Cases(int ciDefault) =>
        int.TryParse(Environment.GetEnvironmentVariable(CasesVariable), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : ciDefault;

    public static int Seed =>
        int.TryParse(Environment.GetEnvironmentVariable(SeedVariable), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var s) ? s : DefaultSeed;

    /// <summary>The random source of one case: independent of the order or parallelism in which cases run.</summary>
    public static Random ForCase(string test, int index) => new(HashCode.Combine(Seed, StableHash(test), index));

    /// <summary>How to reproduce one case, for failure messages.</summary>
    public static string Reproduce(string test, int index) =>
        $"{test} case {index} ({SeedVariable}={Seed}, {CasesVariable}>{index})";

    private static int StableHash(string text)
    {
        // string.GetHashCode is randomised per process; cases must be the same in every run.
        var hash = 17;
        foreach (var c in text)
        {
            hash = unchecked(hash * 31 + c);
        }
        return hash;
    }
}
