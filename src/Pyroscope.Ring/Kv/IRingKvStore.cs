namespace Pyroscope.Ring.Kv;

/// <summary>A stored value and the version it was written at; version 0 means the key does not exist.</summary>
public readonly record struct KvEntry(long Version, ReadOnlyMemory<byte> Value)
{
    public bool Exists => Version != 0;
}

/// <summary>
/// The KV store behind the ring. Values are opaque bytes with a monotonically increasing version per key;
/// every write is a compare-and-swap on that version, so concurrent writers never lose each other's updates.
/// </summary>
public interface IRingKvStore
{
    Task<KvEntry> GetAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// Writes <paramref name="value"/> if the key is still at <paramref name="expectedVersion"/> (0 = absent).
    /// Returns the new version, or null when another writer got there first.
    /// </summary>
    Task<long?> TryCompareAndSwapAsync(string key, long expectedVersion, ReadOnlyMemory<byte> value, CancellationToken cancellationToken);

    /// <summary>
    /// Completes once the key's version differs from <paramref name="knownVersion"/>. Implementations
    /// combine notifications with polling, so a lost notification only delays a watcher.
    /// </summary>
    Task WaitForChangeAsync(string key, long knownVersion, CancellationToken cancellationToken);
}

/// <summary>Thrown when a compare-and-swap keeps losing to other writers.</summary>
public sealed class RingCasContentionException(string key, int attempts)
    : Exception($"Compare-and-swap on ring key '{key}' lost to concurrent writers {attempts} times in a row.");
