using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Pyroscope.Api;

namespace Pyroscope.Hosting.Modules;

/// <summary>
/// Refuses requests to a module's endpoints until the module runs (a WAL replay, an object store not reachable
/// yet), with a 503 that names the module and its state; Connect clients get it as <c>unavailable</c>.
/// </summary>
public static class ModuleReadinessGate
{
    public static WebApplication UseModuleReadinessGate(this WebApplication app)
    {
        var manager = app.Services.GetRequiredService<ModuleManager>();
        app.Use((context, next) =>
        {
            var module = context.GetEndpoint()?.Metadata.GetMetadata<ModuleEndpoint>()?.Module;
            if (module is null)
            {
                return next(context);
            }
            var state = manager.StateOf(module);
            return state == ModuleState.Running
                ? next(context)
                : ApiErrors.WriteAsync(context, ConnectCode.Unavailable, $"module {module} is not running ({state}); try again shortly");
        });
        return app;
    }
}
