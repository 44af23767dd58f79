using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Pyroscope.Ingester;

/// <summary>
/// Health check "wal" (tag "ready"): unhealthy while the WAL refuses writes, naming the directory and the cause (a full
/// disk: "insufficient storage"). Shown by <c>/health</c> and <c>/services</c>; <c>/ready</c> stays as the modules are,
/// because reads still work and a failed readiness probe would take them away too.
/// </summary>
internal sealed class WalHealthCheck(IngesterEngine engine) : IHealthCheck
{
    public const string Name = "wal";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(engine.Wal?.Failure is { } failure
            ? HealthCheckResult.Unhealthy($"{failure.Message} (since {failure.Since:O}); pushes are refused with 503 until a write succeeds")
            : HealthCheckResult.Healthy());
}
