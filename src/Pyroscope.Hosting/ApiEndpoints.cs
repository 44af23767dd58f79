using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Pyroscope.Hosting.Modules;

namespace Pyroscope.Hosting;

/// <summary>Endpoints every process serves: readiness, module states, health and Prometheus metrics.</summary>
public static class ApiEndpoints
{
    public static WebApplication MapPyroscopeApiEndpoints(this WebApplication app)
    {
        app.MapGet("/ready", async (ModuleManager manager, HealthCheckService health, CancellationToken ct) => manager.IsReady
            ? Results.Text("ready\n")
            : Results.Text(await DescribeNotReadyAsync(manager, health, ct), statusCode: StatusCodes.Status503ServiceUnavailable));

        app.MapGet("/services", async (ModuleManager manager, HealthCheckService health, CancellationToken ct) =>
        {
            var text = new StringBuilder();
            foreach (var (module, state) in manager.States)
            {
                text.Append(module).Append(' ').Append(state).Append('\n');
            }
            // Conditions a running module reports, such as a WAL that refuses writes because its disk is full.
            var report = await health.CheckHealthAsync(static check => check.Tags.Contains("ready"), ct);
            foreach (var (name, entry) in report.Entries)
            {
                if (entry.Status != HealthStatus.Healthy)
                {
                    text.Append(name).Append(' ').Append(entry.Status).Append(": ").Append(entry.Description).Append('\n');
                }
            }
            return Results.Text(text.ToString());
        });

        app.MapDefaultEndpoints();
        return app;
    }

    /// <summary>Which modules do not run and why: failures, and the readiness checks (such as the object store) that do not pass.</summary>
    private static async Task<string> DescribeNotReadyAsync(ModuleManager manager, HealthCheckService health, CancellationToken cancellationToken)
    {
        var text = new StringBuilder("Some services are not Running:\n");
        var failures = manager.Failures;
        foreach (var (module, state) in manager.States)
        {
            if (state != ModuleState.Running)
            {
                text.Append(state).Append(": ").Append(module);
                if (failures.TryGetValue(module, out var reason))
                {
                    text.Append(": ").Append(reason);
                }
                text.Append('\n');
            }
        }
        var report = await health.CheckHealthAsync(static check => check.Tags.Contains("ready"), cancellationToken);
        foreach (var (name, entry) in report.Entries)
        {
            if (entry.Status != HealthStatus.Healthy)
            {
                text.Append("Unhealthy: ").Append(name).Append(": ").Append(entry.Description).Append('\n');
            }
        }
        return text.ToString();
    }
}
