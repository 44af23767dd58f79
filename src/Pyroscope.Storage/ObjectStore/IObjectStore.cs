namespace Pyroscope.Storage.ObjectStore;

/// <summary>
/// The small object-storage surface the engine needs. Keys use '/' separators and are relative to
/// the store's configured prefix; tenants are the top-level folders.
/// </summary>
public interface IObjectStore
{
    /// <summary>Writes an object atomically: readers see the old object, nothing, or the whole new one.</summary>
    Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    /// <summary>The whole object, or null when it does not exist.</summary>
    Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken);

    /// <summary>Bytes [offset, offset+length) of an object.</summary>
    Task<byte[]> GetRangeAsync(string key, long offset, int length, CancellationToken cancellationToken);

    /// <summary>Names directly under <paramref name="prefix"/> (which ends with '/' or is empty); folders end with '/'.</summary>
    Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancellationToken);

    /// <summary>Deletes an object; deleting a missing object is not an error.</summary>
    Task DeleteAsync(string key, CancellationToken cancellationToken);

    /// <summary>What the store is, for operators (backend and location, never credentials).</summary>
    string Description => GetType().Name;

    /// <summary>
    /// Throws unless the store can be used: reachable, credentials accepted, its container or directory present
    /// (created when missing and allowed). The exception's message says what is wrong.
    /// </summary>
    Task CheckAccessAsync(CancellationToken cancellationToken) => ListAsync("", cancellationToken);
}

/// <summary>Helpers over <see cref="IObjectStore"/>.</summary>
public static class ObjectStoreExtensions
{
    /// <summary>Deletes every object under a folder key (ending with '/').</summary>
    public static async Task DeleteFolderAsync(this IObjectStore store, string folder, CancellationToken cancellationToken)
    {
        foreach (var name in await store.ListAsync(folder, cancellationToken))
        {
            if (name.EndsWith('/'))
            {
                await store.DeleteFolderAsync(folder + name, cancellationToken);
            }
            else
            {
                await store.DeleteAsync(folder + name, cancellationToken);
            }
        }
    }
}
