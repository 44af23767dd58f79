using Pyroscope.Api.Limits;
using Pyroscope.Hosting.Modules;
using Pyroscope.Storage.Compaction;

namespace Pyroscope.Hosting;

/// <summary>
/// Gives the compactor each tenant's retention (<c>compactor_blocks_retention_period</c>, overridable per
/// tenant) before its loop starts: storage knows nothing of tenant limits, the composition joins them.
/// </summary>
internal sealed class CompactorRetentionBinding(Compactor compactor, ITenantLimitsProvider limits) : IModuleService
{
    public string Module => ModuleNames.Compactor;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        compactor.RetentionForTenant = tenant => limits.For(tenant).CompactorBlocksRetentionPeriod;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
