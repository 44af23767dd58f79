using System.Collections.Concurrent;
using Google.Protobuf;
using Pyroscope.Api;
using Pyroscope.Contracts.Settings.V1;
using Pyroscope.Storage.ObjectStore;

namespace Pyroscope.Settings;

/// <summary>
/// Per-tenant settings, one object per tenant at <c>&lt;tenant&gt;/settings/tenant_settings.json</c>
/// (protobuf JSON of a <see cref="GetSettingsResponse"/>). Upstream keeps every tenant in one
/// <c>tenant_settings.json</c> at the bucket root; one object per tenant lets tenants write in parallel and
/// sits beside the tenant's blocks, where block listings skip it (it is not a ULID folder).
/// </summary>
/// <remarks>
/// A Set is a read-modify-write of the tenant's object under an in-process per-tenant lock, so concurrent
/// Sets of different names in one process never lose each other. Two processes writing the same tenant at
/// once can still lose an update (last upload wins); upstream has the same limit, since its store is also
/// a mutex-guarded read-modify-write of one object.
/// </remarks>
public sealed class TenantSettingsStore(IObjectStore store, TimeProvider time)
{
    public const string ObjectName = "settings/tenant_settings.json";
    public const int MaxNameLength = 256;
    public const int MaxValueBytes = 1024 * 1024;

    /// <summary>Names and values of one tenant together: every Get returns them all, so they must stay small.</summary>
    public const int MaxTenantBytes = 4 * MaxValueBytes;

    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);

    public static string KeyFor(string tenantId) => tenantId + "/" + ObjectName;

    /// <summary>The tenant's settings sorted by name; empty when it never set one.</summary>
    /// <remarks>No lock: object-store puts are atomic, so a read sees the version before or after a Set.</remarks>
    public Task<GetSettingsResponse> GetAsync(string tenantId, CancellationToken cancellationToken) =>
        LoadAsync(tenantId, cancellationToken);

    /// <summary>
    /// Stores <paramref name="setting"/> (modifiedAt ≤ 0 means now, in Unix ms) unless a newer version of the
    /// same name is already stored, which is refused with already_exists as upstream does.
    /// </summary>
    public async Task<Setting> SetAsync(string tenantId, Setting? setting, CancellationToken cancellationToken)
    {
        Validate(setting);
        var update = setting.Clone();
        if (update.ModifiedAt <= 0)
        {
            update.ModifiedAt = time.GetUtcNow().ToUnixTimeMilliseconds();
        }

        var gate = LockFor(tenantId);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var current = await LoadAsync(tenantId, cancellationToken).ConfigureAwait(false);
            var index = IndexOf(current, update.Name);
            if (index >= 0)
            {
                if (current.Settings[index].ModifiedAt > update.ModifiedAt)
                {
                    throw new ApiException(ConnectCode.AlreadyExists,
                        $"failed to update {update.Name}: newer update already written (stored modifiedAt {current.Settings[index].ModifiedAt} > {update.ModifiedAt})");
                }
                current.Settings[index] = update;
            }
            else
            {
                current.Settings.Insert(~index, update);
            }
            var total = TotalBytes(current);
            if (total > MaxTenantBytes)
            {
                throw new ApiException(ConnectCode.ResourceExhausted,
                    $"setting \"{update.Name}\" refused: the tenant's settings would total {total} bytes of names and values, the limit is {MaxTenantBytes}; shorten other settings first (set them to an empty value)");
            }
            // Written before the lock is released: the next Set of this tenant reads this version.
            await store.PutAsync(KeyFor(tenantId), JsonBytes(current), cancellationToken).ConfigureAwait(false);
            return update;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// Removes the setting <paramref name="name"/>. Deleting a name that is not stored succeeds (as upstream); a
    /// stored version newer than now (a client with a clock ahead wrote it) is kept and refused with already_exists.
    /// </summary>
    public async Task DeleteAsync(string tenantId, string? name, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(name))
        {
            throw new ApiException(ConnectCode.InvalidArgument, "no setting name provided (field \"name\")");
        }
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var gate = LockFor(tenantId);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var current = await LoadAsync(tenantId, cancellationToken).ConfigureAwait(false);
            var index = IndexOf(current, name);
            if (index < 0)
            {
                return;
            }
            if (current.Settings[index].ModifiedAt > now)
            {
                throw new ApiException(ConnectCode.AlreadyExists,
                    $"failed to delete {name}: newer update already written (stored modifiedAt {current.Settings[index].ModifiedAt} > now {now})");
            }
            current.Settings.RemoveAt(index);
            await store.PutAsync(KeyFor(tenantId), JsonBytes(current), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    private static void Validate([System.Diagnostics.CodeAnalysis.NotNull] Setting? setting)
    {
        if (setting is null)
        {
            throw new ApiException(ConnectCode.InvalidArgument, "no setting values provided");
        }
        if (string.IsNullOrWhiteSpace(setting.Name))
        {
            throw new ApiException(ConnectCode.InvalidArgument, "setting name must not be empty");
        }
        if (setting.Name.Length > MaxNameLength)
        {
            throw new ApiException(ConnectCode.InvalidArgument, $"setting name is {setting.Name.Length} characters long, the limit is {MaxNameLength}");
        }
        var valueBytes = System.Text.Encoding.UTF8.GetByteCount(setting.Value);
        if (valueBytes > MaxValueBytes)
        {
            throw new ApiException(ConnectCode.InvalidArgument, $"value of setting \"{setting.Name}\" is {valueBytes} bytes, the limit is {MaxValueBytes}");
        }
    }

    private async Task<GetSettingsResponse> LoadAsync(string tenantId, CancellationToken cancellationToken)
    {
        var bytes = await store.GetAsync(KeyFor(tenantId), cancellationToken).ConfigureAwait(false);
        if (bytes is null)
        {
            return new GetSettingsResponse();
        }
        GetSettingsResponse stored;
        try
        {
            stored = Parser.Parse<GetSettingsResponse>(System.Text.Encoding.UTF8.GetString(bytes));
        }
        catch (Exception e) when (e is InvalidJsonException or InvalidProtocolBufferException)
        {
            throw new ApiException(ConnectCode.Internal, $"stored tenant settings {KeyFor(tenantId)} are not valid settings JSON: {e.Message}", inner: e);
        }
        var sorted = new List<Setting>(stored.Settings);
        sorted.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        var result = new GetSettingsResponse();
        result.Settings.Add(sorted);
        return result;
    }

    private static long TotalBytes(GetSettingsResponse settings)
    {
        long total = 0;
        foreach (var s in settings.Settings)
        {
            total += System.Text.Encoding.UTF8.GetByteCount(s.Name) + System.Text.Encoding.UTF8.GetByteCount(s.Value);
        }
        return total;
    }

    /// <summary>Binary search by name; the complement of the insertion point when absent.</summary>
    private static int IndexOf(GetSettingsResponse settings, string name)
    {
        int low = 0, high = settings.Settings.Count - 1;
        while (low <= high)
        {
            var mid = (low + high) >>> 1;
            var order = string.CompareOrdinal(settings.Settings[mid].Name, name);
            if (order == 0)
            {
                return mid;
            }
            if (order < 0)
            {
                low = mid + 1;
            }
            else
            {
                high = mid - 1;
            }
        }
        return ~low;
    }

    private static byte[] JsonBytes(GetSettingsResponse settings) =>
        System.Text.Encoding.UTF8.GetBytes(JsonFormatter.Default.Format(settings));

    private SemaphoreSlim LockFor(string tenantId) => _locks.GetOrAdd(tenantId, static _ => new SemaphoreSlim(1, 1));
}
