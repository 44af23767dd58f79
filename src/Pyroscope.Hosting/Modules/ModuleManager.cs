using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Pyroscope.Hosting.Modules;

/// <summary>A module's runtime work, started after its dependencies and stopped before them.</summary>
public interface IModuleService
{
    string Module { get; }

    Task StartAsync(CancellationToken cancellationToken);

    Task StopAsync(CancellationToken cancellationToken);
}

public enum ModuleState
{
    New,
    Starting,
    Running,
    Stopping,
    Terminated,
    Failed,
}

/// <summary>
/// Starts the modules of this process in dependency order and stops them in reverse, like dskit's service
/// manager. One module failing stops the whole process with a non-zero exit code. <c>/ready</c> reads it.
/// </summary>
public sealed class ModuleManager : IHostedService
{
    private readonly IReadOnlyList<string> _order;
    private readonly Dictionary<string, List<IModuleService>> _services;
    private readonly Dictionary<string, ModuleState> _states;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger<ModuleManager> _logger;
    private readonly Lock _lock = new();
    private volatile bool _serverListening;

    public ModuleManager(ActiveModules active, IEnumerable<IModuleService> services, IHostApplicationLifetime lifetime, ILogger<ModuleManager> logger, IMeterFactory meterFactory)
    {
        _order = active.InStartOrder;
        _lifetime = lifetime;
        _logger = logger;
        _states = new Dictionary<string, ModuleState>(StringComparer.Ordinal);
        _services = new Dictionary<string, List<IModuleService>>(StringComparer.Ordinal);
        foreach (var name in _order)
        {
            _states[name] = ModuleState.New;
            _services[name] = [];
        }
        foreach (var service in services)
        {
            if (!_services.TryGetValue(service.Module, out var list))
            {
                throw new InvalidOperationException($"service {service.GetType().Name} belongs to module \"{service.Module}\", which is not running in this process");
            }
            list.Add(service);
        }
        lifetime.ApplicationStarted.Register(() => _serverListening = true);

        var meter = meterFactory.Create("Pyroscope.Hosting");
        meter.CreateObservableGauge("pyroscope_module_running", ObserveRunning, description: "1 when the module is running, else 0");
    }

    /// <summary>Ready when the server listens and every module runs.</summary>
    public bool IsReady
    {
        get
        {
            if (!_serverListening)
            {
                return false;
            }
            lock (_lock)
            {
                foreach (var state in _states.Values)
                {
                    if (state != ModuleState.Running)
                    {
                        return false;
                    }
                }
            }
            return true;
        }
    }

    public bool HasFailed { get; private set; }

    public IReadOnlyDictionary<string, ModuleState> States
    {
        get
        {
            lock (_lock)
            {
                return new Dictionary<string, ModuleState>(_states);
            }
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var module in _order)
        {
            SetState(module, ModuleState.Starting);
            try
            {
                foreach (var service in _services[module])
                {
                    await service.StartAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                ReportFailure(module, ex);
                return;
            }
            SetState(module, ModuleState.Running);
            _logger.LogInformation("module {Module} running", module);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        for (var i = _order.Count - 1; i >= 0; i--)
        {
            var module = _order[i];
            var state = States[module];
            if (state is ModuleState.New)
            {
                SetState(module, ModuleState.Terminated);
                continue;
            }
            if (state is ModuleState.Failed)
            {
                continue;
            }
            SetState(module, ModuleState.Stopping);
            var services = _services[module];
            for (var j = services.Count - 1; j >= 0; j--)
            {
                try
                {
                    await services[j].StopAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    _logger.LogError(ex, "module {Module} failed while stopping", module);
                }
            }
            SetState(module, ModuleState.Terminated);
        }
    }

    /// <summary>Marks the module failed and stops the process with exit code 1.</summary>
    public void ReportFailure(string module, Exception error)
    {
        SetState(module, ModuleState.Failed);
        HasFailed = true;
        _logger.LogCritical(error, "module {Module} failed: {Reason}; stopping", module, error.Message);
        _lifetime.StopApplication();
    }

    private void SetState(string module, ModuleState state)
    {
        lock (_lock)
        {
            _states[module] = state;
        }
    }

    private IEnumerable<Measurement<int>> ObserveRunning()
    {
        foreach (var (module, state) in States)
        {
            yield return new Measurement<int>(state == ModuleState.Running ? 1 : 0, new KeyValuePair<string, object?>("module", module));
        }
    }
}

/// <summary>The modules this process runs, in start order.</summary>
public sealed record ActiveModules(IReadOnlyList<string> InStartOrder)
{
    public bool Contains(string module)
    {
        foreach (var name in InStartOrder)
        {
            if (name == module)
            {
                return true;
            }
        }
        return false;
    }
}

public static class ModuleServiceCollectionExtensions
{
    /// <summary>Registers a module service that the module manager starts in dependency order.</summary>
    public static IServiceCollection AddModuleService<T>(this IServiceCollection services) where T : class, IModuleService
    {
        services.AddSingleton<T>();
        services.AddSingleton<IModuleService>(sp => sp.GetRequiredService<T>());
        return services;
    }
}
