using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Pyroscope.Hosting.Modules;

namespace Pyroscope.Hosting;

/// <summary>Endpoints every process serves: readiness, module states, health and Prometheus metrics.</summary>
public static class ApiEndpoints
{
    public static WebApplication MapPyroscopeApiEndpoints(this WebApplication app)
    {
        app.MapGet("/ready", (ModuleManager manager) => manager.IsReady
            ? Results.Text("ready\n")
            : Results.Text(DescribeNotReady(manager), statusCode: StatusCodes.Status503ServiceUnavailable));

        app.MapGet("/services", (ModuleManager manager) =>
        {
            var text = new StringBuilder();
            foreach (var (module, state) in manager.States)
            {
                text.Append(module).Append(' ').Append(state).Append('\n');
            }
            return Results.Text(text.ToString());
        });

        app.MapDefaultEndpoints();
        return app;
    }

    private static string DescribeNotReady(ModuleManager manager)
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
        return text.ToString();
    }
}
