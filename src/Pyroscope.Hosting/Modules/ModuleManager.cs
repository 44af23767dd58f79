using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Pyroscope.Hosting.Modules;

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
/// Drives every module's services through one lifecycle, like dskit's service manager: a module starts once all
/// its dependencies run (modules without a path between them start concurrently), is <see cref="ModuleState.Running"/>
/// once each of its services has started, and stops after every module that depends on it. A service that fails
/// to start, or a background service whose loop faults or ends on its own, fails its module and stops the process
/// with exit code 1. <c>/ready</c> and <c>/services</c> read the states.
/// </summary>
/// <remarks>
/// <see cref="StartAsync"/> returns at once so the server listens (and <c>/ready</c> answers 503) while modules
/// start: a WAL replay or an unreachable object store shows as <see cref="ModuleState.Starting"/>, not as a
/// process that does not answer.
/// </remarks>
public sealed class ModuleManager : IHostedService
{
    private readonly ActiveModules _modules;
    private readonly Func<string, IReadOnlyList<IHostedService>> _servicesOf;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger<ModuleManager> _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, ModuleState> _states = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _failures = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IReadOnlyList<IHostedService>> _started = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private Task _startAll = Task.CompletedTask;
    private volatile bool _serverListening;

    public ModuleManager(
        ActiveModules modules,
        Func<string, IReadOnlyList<IHostedService>> servicesOf,
        IHostApplicationLifetime lifetime,
        ILogger<ModuleManager> logger,
        IMeterFactory meterFactory)
    {
        _modules = modules;
        _servicesOf = servicesOf;
        _lifetime = lifetime;
        _logger = logger;
        foreach (var name in modules.InStartOrder)
        {
            _states[name] = ModuleState.New;
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

    /// <summary>Why each failed module failed.</summary>
    public IReadOnlyDictionary<string, string> Failures
    {
        get
        {
            lock (_lock)
            {
                return new Dictionary<string, string>(_failures);
            }
        }
    }

    /// <summary>Completes when every module is running, or has failed, or was never started because a dependency failed.</summary>
    public Task WhenStarted => _startAll;

    public ModuleState StateOf(string module)
    {
        lock (_lock)
        {
            return _states.TryGetValue(module, out var state) ? state : ModuleState.New;
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var starts = new Dictionary<string, Task<bool>>(StringComparer.Ordinal);
        foreach (var module in _modules.InStartOrder)
        {
            // Start order lists dependencies first, so their tasks exist by the time a dependent looks them up.
            var dependencies = new List<Task<bool>>();
            foreach (var dependency in _modules.DependenciesOf(module))
            {
                dependencies.Add(starts[dependency]);
            }
            starts[module] = StartModuleAsync(module, dependencies);
        }
        _startAll = Task.WhenAll(starts.Values);
        return Task.CompletedTask;
    }

    private async Task<bool> StartModuleAsync(string module, List<Task<bool>> dependencies)
    {
        foreach (var dependency in dependencies)
        {
            if (!await dependency.ConfigureAwait(false))
            {
                return false;
            }
        }
        var token = _stopping.Token;
        if (token.IsCancellationRequested)
        {
            return false;
        }
        SetState(module, ModuleState.Starting);
        var started = new List<IHostedService>();
        lock (_lock)
        {
            _started[module] = started;
        }
        IReadOnlyList<IHostedService> services;
        try
        {
            // Resolving can fail too: a store whose settings are incomplete throws when it is constructed.
            services = _servicesOf(module);
            foreach (var service in services)
            {
                await service.StartAsync(token).ConfigureAwait(false);
                lock (_lock)
                {
                    started.Add(service);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            return false;
        }
        catch (Exception ex)
        {
            Fail(module, ex);
            return false;
        }
        SetState(module, ModuleState.Running);
        _logger.LogInformation("module {Module} running", module);
        foreach (var service in services)
        {
            if (service is BackgroundService { ExecuteTask: { } loop })
            {
                _ = WatchAsync(module, service, loop);
            }
        }
        return true;
    }

    /// <summary>A module's background loop that faults, or ends while nobody asked it to stop, fails the module.</summary>
    private async Task WatchAsync(string module, IHostedService service, Task loop)
    {
        try
        {
            await loop.ConfigureAwait(false);
        }
        catch (Exception) when (_stopping.IsCancellationRequested)
        {
            return;
        }
        catch (Exception ex)
        {
            Fail(module, ex);
            return;
        }
        if (!_stopping.IsCancellationRequested)
        {
            Fail(module, new InvalidOperationException($"{service.GetType().Name} stopped on its own"));
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _startAll.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Start failures were reported when they happened.
        }
        // Reverse start order stops every module after all modules that depend on it.
        var order = _modules.InStartOrder;
        for (var i = order.Count - 1; i >= 0; i--)
        {
            await StopModuleAsync(order[i], cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task StopModuleAsync(string module, CancellationToken cancellationToken)
    {
        IReadOnlyList<IHostedService> started;
        ModuleState state;
        lock (_lock)
        {
            state = _states[module];
            started = _started.TryGetValue(module, out var list) ? [.. list] : [];
        }
        if (state is not ModuleState.Failed)
        {
            SetState(module, ModuleState.Stopping);
        }
        for (var j = started.Count - 1; j >= 0; j--)
        {
            try
            {
                await started[j].StopAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "module {Module} failed while stopping: {Reason}", module, ex.Message);
            }
        }
        if (state is not ModuleState.Failed)
        {
            SetState(module, ModuleState.Terminated);
        }
    }

    /// <summary>Marks the module failed and stops the process with exit code 1.</summary>
    private void Fail(string module, Exception error)
    {
        lock (_lock)
        {
            if (_states[module] == ModuleState.Failed)
            {
                return;
            }
            _states[module] = ModuleState.Failed;
            _failures[module] = error.Message;
        }
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
