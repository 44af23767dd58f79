using Pyroscope.Contracts.Settings.V1;

namespace Pyroscope.Recording;

/// <summary>
/// Where a process learns a tenant's recording rules: the tenant-settings store when tenant-settings runs in the
/// same process, else a tenant-settings service over Connect (<see cref="ConnectRecordingRuleSource"/>).
/// </summary>
public interface IRecordingRuleSource
{
    /// <summary>The tenant's rules; throws when the source cannot answer.</summary>
    Task<IReadOnlyList<RecordingRule>> ListAsync(string tenantId, CancellationToken cancellationToken);

    /// <summary>
    /// Raised after a tenant's rules changed through this source's own process, with the new rules, so a cache in
    /// the same process applies them at once instead of at its next refresh. Remote sources never raise it.
    /// </summary>
    event Action<string, IReadOnlyList<RecordingRule>>? Changed;
}
