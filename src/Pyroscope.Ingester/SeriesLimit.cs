namespace Pyroscope.Ingester;

/// <summary>
/// One tenant's active-series limit on one ingester, as upstream's limiter derives it: the global limit is
/// spread over the healthy ingesters and multiplied by the replication factor (each series lives on RF of
/// them), and the stricter non-zero of that and the local limit applies. Zero everywhere means no limit.
/// </summary>
public readonly record struct SeriesLimit(int MaxLocal, int MaxGlobal, int HealthyIngesters, int ReplicationFactor)
{
    public static SeriesLimit Unlimited => default;

    /// <summary>The global limit as this ingester's share; 0 (ignored) while the ring shows no healthy ingester.</summary>
    public int GlobalAsLocal => MaxGlobal <= 0 || HealthyIngesters <= 0
        ? 0
        : (int)Math.Min(int.MaxValue, (double)MaxGlobal / HealthyIngesters * Math.Max(1, ReplicationFactor));

    /// <summary>The limit this ingester enforces; 0 = none.</summary>
    public int Effective
    {
        get
        {
            var local = Math.Max(0, MaxLocal);
            var global = GlobalAsLocal;
            return local == 0 ? global : global == 0 ? local : Math.Min(local, global);
        }
    }

    /// <summary>Names the setting(s) that produced <see cref="Effective"/>, with their values, for the refusal message.</summary>
    public string Source()
    {
        var global = GlobalAsLocal;
        var fromGlobal = $"max_global_series_per_tenant={MaxGlobal} / {HealthyIngesters} healthy ingester(s) × replication factor {Math.Max(1, ReplicationFactor)}";
        var fromLocal = $"max_local_series_per_tenant={MaxLocal}";
        return MaxLocal > 0 && (global == 0 || MaxLocal <= global) ? fromLocal : fromGlobal;
    }
}

/// <summary>Supplies each tenant's series limit to series admission (<see cref="TenantSeriesLimits"/> in a host; fixed limits in tests).</summary>
public interface ISeriesLimits
{
    SeriesLimit For(string tenantId);
}
