namespace Pyroscope.Ring;

/// <summary>Token generation and the mapping of series fingerprints onto the ring.</summary>
public static class RingTokens
{
    /// <summary>Folds a 64-bit series fingerprint onto the 32-bit token space (both halves contribute).</summary>
    public static uint FromFingerprint(ulong fingerprint) => (uint)(fingerprint ^ (fingerprint >> 32));

    /// <summary>
    /// Returns <paramref name="count"/> distinct random tokens, sorted, none of them in <paramref name="taken"/>
    /// (tokens owned by other members), so ownership of every token is unambiguous.
    /// </summary>
    public static uint[] Generate(int count, IReadOnlySet<uint> taken, Random? random = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        random ??= Random.Shared;
        var chosen = new HashSet<uint>(count);
        while (chosen.Count < count)
        {
            var candidate = (uint)random.NextInt64(0, 1L << 32);
            if (!taken.Contains(candidate))
            {
                chosen.Add(candidate);
            }
        }
        var tokens = new uint[count];
        chosen.CopyTo(tokens);
        Array.Sort(tokens);
        return tokens;
    }
}
