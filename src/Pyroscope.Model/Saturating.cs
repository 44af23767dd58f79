namespace Pyroscope.Model;

/// <summary>
/// Sums of sample values that stop at <see cref="long.MaxValue"/> / <see cref="long.MinValue"/> instead of
/// wrapping: a client may send any int64, and a wrapped total would show a huge positive value as negative.
/// </summary>
public static class Saturating
{
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    public static long Add(long a, long b)
    {
        var sum = unchecked(a + b);
        // Overflow only when both operands have the same sign and the sum's sign differs.
        return ((a ^ sum) & (b ^ sum)) < 0 ? (a < 0 ? long.MinValue : long.MaxValue) : sum;
    }
}
