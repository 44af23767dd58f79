using Pyroscope.Api.Limits;
using Pyroscope.Ring;

namespace Pyroscope.Ingester;

/// <summary>
/// Each tenant's series limit on this ingester: the limits come from the same overrides configuration the
/// distributor reads; the ring gives the number of healthy ingesters and the replication factor that turn
/// the global limit into a per-ingester share. Consulted only when a push brings a new series.
/// </summary>
public sealed class TenantSeriesLimits(ITenantLimitsProvider limits, IRing? ring) : ISeriesLimits
{
    public SeriesLimit For(string tenantId)
    {
        var tenant = limits.For(tenantId);
        // Without a ring (a lone engine in a test host) this ingester is the only one.
        var (ingesters, replicationFactor) = ring is null ? (1, 1) : (Replication.HealthyInstanceCount(ring), ring.ReplicationFactor);
        return new SeriesLimit(tenant.MaxLocalSeriesPerTenant, tenant.MaxGlobalSeriesPerTenant, ingesters, replicationFactor);
    }
}
