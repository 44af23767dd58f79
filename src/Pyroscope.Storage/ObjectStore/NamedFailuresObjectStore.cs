using Pyroscope.Model;

namespace Pyroscope.Storage.ObjectStore;

/// <summary>
/// The object store as every component gets it: a failure of an operation (unreachable, credentials refused, an
/// object gone between listing and reading) becomes an <see cref="ObjectStoreUnavailableException"/> naming the store,
/// the operation and the cause, which the APIs answer with 503 <c>unavailable</c> instead of a bare 500. A missing
/// object is not a failure (null from <see cref="GetAsync"/>), the caller's cancellation stays a cancellation, and
/// corrupt data (<see cref="InvalidDataException"/>) or a bad key (<see cref="ArgumentException"/>) pass through.
/// The access check passes through too: <see cref="ObjectStoreAccess"/> names the store itself.
/// </summary>
public sealed class NamedFailuresObjectStore(IObjectStore inner) : IObjectStore
{
    public IObjectStore Inner => inner;

    public string Description => inner.Description;

    public Task CheckAccessAsync(CancellationToken cancellationToken) => inner.CheckAccessAsync(cancellationToken);

    public Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
        Guard("writing", key, inner.PutAsync(key, data, cancellationToken), cancellationToken);

    public Task<byte[]?> GetAsync(string key, CancellationToken cancellationToken) =>
        Guard("reading", key, inner.GetAsync(key, cancellationToken), cancellationToken);

    public Task<byte[]> GetRangeAsync(string key, long offset, int length, CancellationToken cancellationToken) =>
        Guard("reading", key, inner.GetRangeAsync(key, offset, length, cancellationToken), cancellationToken);

    public Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancellationToken) =>
        Guard("listing", prefix.Length == 0 ? "/" : prefix, inner.ListAsync(prefix, cancellationToken), cancellationToken);

    public Task DeleteAsync(string key, CancellationToken cancellationToken) =>
        Guard("deleting", key, inner.DeleteAsync(key, cancellationToken), cancellationToken);

    private async Task Guard(string operation, string key, Task call, CancellationToken cancellationToken)
    {
        try
        {
            await call.ConfigureAwait(false);
        }
        catch (Exception e) when (IsStoreFailure(e, cancellationToken))
        {
            throw new ObjectStoreUnavailableException(inner.Description, operation, key, e);
        }
    }

    private async Task<T> Guard<T>(string operation, string key, Task<T> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call.ConfigureAwait(false);
        }
        catch (Exception e) when (IsStoreFailure(e, cancellationToken))
        {
            throw new ObjectStoreUnavailableException(inner.Description, operation, key, e);
        }
    }

    private static bool IsStoreFailure(Exception e, CancellationToken cancellationToken) =>
        e is not (InvalidDataException or ArgumentException or UnavailableException)
        && (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested);
}

/// <summary>An object-store operation failed; the message names the store, the operation, the key and the cause.</summary>
public sealed class ObjectStoreUnavailableException(string store, string operation, string key, Exception inner)
    : UnavailableException($"object store {store} failed {operation} {key}: {CauseOf(inner)}", inner)
{
    public string Store { get; } = store;

    /// <summary>The innermost first cause, first line only: Azure wraps retries in an AggregateException and appends headers after the first line.</summary>
    internal static string CauseOf(Exception e)
    {
        while (true)
        {
            if (e is AggregateException { InnerExceptions.Count: > 0 } aggregate)
            {
                e = aggregate.InnerExceptions[0];
            }
            else if (e.InnerException is not null && e is System.Net.Http.HttpRequestException or TaskCanceledException)
            {
                e = e.InnerException;
            }
            else
            {
                break;
            }
        }
        var message = e.Message;
        var end = message.IndexOfAny(['\r', '\n']);
        return end < 0 ? message : message[..end];
    }
}
