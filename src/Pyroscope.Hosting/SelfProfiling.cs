using System.Globalization;
using Microsoft.Extensions.Configuration;
using Pyroscope.Hosting.Configuration;
using Pyroscope.Hosting.Modules;
using Pyroscope.Profiler;
using Pyroscope.Model;

namespace Pyroscope.Hosting;

/// <summary>
/// As upstream's <c>-self-profiling.*</c>: every process profiles itself and pushes the profiles to its own
/// distributor (monolith) or to the distributor it was pointed at (microservices), so a new user sees a
/// flame graph the moment the UI opens.
/// </summary>
internal static class SelfProfiling
{
    public const string ServiceName = "pyroscope";

    public static void Register(ModuleContext context)
    {
        var configuration = context.Configuration;
        if (string.Equals(configuration["self_profiling:disable_push"], "true", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }
        var address = ServerAddress(context);
        if (address is null)
        {
            return;
        }
        var interval = DurationText.Parse(configuration["self_profiling:upload_interval"]!, "self_profiling.upload_interval");
        context.Services.AddPyroscopeProfiler(options =>
        {
            options.ApplicationName = ServiceName;
            options.ServerAddress = address;
            options.UploadInterval = interval;
            options.Tags["target"] = string.Join('_', Targets(context));
            options.TenantId = configuration["self_profiling:tenant_id"];
        });
    }

    private static string? ServerAddress(ModuleContext context)
    {
        var configured = context.Configuration["self_profiling:server_address"];
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return configured;
        }
        if (context.ActiveModules.Contains(ModuleNames.Distributor))
        {
            // The flag table seeds the port's default, so the key is always there.
            var port = int.Parse(context.Configuration["server:http_listen_port"]!, CultureInfo.InvariantCulture);
            return $"http://127.0.0.1:{port}";
        }
        // Aspire's service discovery names the distributor when the AppHost references it.
        return context.Configuration["services:distributor:http:0"];
    }

    private static IEnumerable<string> Targets(ModuleContext context)
    {
        foreach (var name in new[] { ModuleNames.All, ModuleNames.Distributor, ModuleNames.Ingester, ModuleNames.Querier, ModuleNames.Compactor, ModuleNames.TenantSettings })
        {
            if (context.ActiveModules.Contains(name))
            {
                yield return name;
                if (name == ModuleNames.All)
                {
                    yield break;
                }
            }
        }
    }
}
