namespace Pyroscope.Ring.Kv;

/// <summary>Typed ring operations on top of the byte-level CAS, like dskit's kv.CAS(key, f).</summary>
public static class RingKv
{
    private const int MaxCasAttempts = 20;

    public static async Task<(long Version, RingDescriptor Descriptor)> GetRingAsync(this IRingKvStore kv, string key, CancellationToken cancellationToken)
    {
        var entry = await kv.GetAsync(key, cancellationToken).ConfigureAwait(false);
        return (entry.Version, RingDescriptor.Deserialize(entry.Value.Span));
    }

    /// <summary>
    /// Reads the ring, lets <paramref name="mutate"/> change a fresh copy, and writes it back with CAS,
    /// retrying from a fresh read whenever another writer won. <paramref name="mutate"/> returns false to
    /// write nothing. Returns the version the write landed at (or the read version when nothing was written).
    /// </summary>
    public static async Task<long> CasRingAsync(this IRingKvStore kv, string key, Func<RingDescriptor, bool> mutate, CancellationToken cancellationToken)
    {
        for (var attempt = 1; attempt <= MaxCasAttempts; attempt++)
        {
            var (version, descriptor) = await kv.GetRingAsync(key, cancellationToken).ConfigureAwait(false);
            if (!mutate(descriptor))
            {
                return version;
            }
            var written = await kv.TryCompareAndSwapAsync(key, version, descriptor.Serialize(), cancellationToken).ConfigureAwait(false);
            if (written is { } newVersion)
            {
                return newVersion;
            }
            // Lost the race: back off a little with jitter so a herd of lifecyclers spreads out.
            await Task.Delay(Random.Shared.Next(1, 5 * attempt), cancellationToken).ConfigureAwait(false);
        }
        throw new RingCasContentionException(key, MaxCasAttempts);
    }
}
